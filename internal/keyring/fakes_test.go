package keyring

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
)

func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
}

// memKeys is a slice-based core.KeyStore that follows the interface
// comments in internal/core/store.go.
type memKeys struct {
	mu   sync.Mutex
	keys []*core.SigningKey // oldest first
}

func newMemStore() *memKeys { return &memKeys{} }

func (m *memKeys) Keys(_ context.Context, purpose core.KeyPurpose) ([]*core.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*core.SigningKey
	for _, k := range slices.Backward(m.keys) {
		if k.Purpose == purpose {
			c := *k
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memKeys) InsertKeyIfNone(_ context.Context, k *core.SigningKey) (*core.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, existing := range slices.Backward(m.keys) {
		if existing.Purpose == k.Purpose && existing.RetiredAt == nil {
			c := *existing
			return &c, nil
		}
	}
	c := *k
	m.keys = append(m.keys, &c)
	return k, nil
}

func (m *memKeys) ReplacePrivateKey(_ context.Context, kid string, old, private []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if k.KID == kid && bytes.Equal(k.PrivateKey, old) {
			k.PrivateKey = slices.Clone(private)
		}
	}
	return nil
}

func (m *memKeys) RotateKey(_ context.Context, k *core.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, existing := range m.keys {
		if existing.Purpose == k.Purpose && existing.RetiredAt == nil {
			at := k.CreatedAt
			existing.RetiredAt = &at
		}
	}
	c := *k
	m.keys = append(m.keys, &c)
	return nil
}

// addKey stores a key directly, e.g. a retired one.
func (m *memKeys) addKey(k *core.SigningKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, k)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}
