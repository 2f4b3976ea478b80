package session

import (
	"context"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

const testIssuer = "https://login.example.com"

type fixture struct {
	svc   *Service
	store *memStore
	clock *fakeClock
	keys  *Keyring
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	store, clock := newMemStore(), newFakeClock()
	keys, err := LoadKeyring(context.Background(), store, core.KeyJWT, clock)
	if err != nil {
		t.Fatalf("LoadKeyring: %v", err)
	}
	svc, err := NewService(Config{Issuer: testIssuer}, keys, store, clock)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return &fixture{svc: svc, store: store, clock: clock, keys: keys}
}

// issue starts a session for a new user and returns the user id and pair.
func (f *fixture) issue(t testing.TB, amr ...string) (string, *TokenPair) {
	t.Helper()
	userID := core.NewID(core.PrefixUser)
	pair, err := f.svc.Issue(context.Background(), userID, amr, f.clock.Now())
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return userID, pair
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}
