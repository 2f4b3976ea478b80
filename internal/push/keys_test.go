package push

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/approvald/approvald/internal/signing"
)

// switchingKeys is a Keys whose active key the test changes.
type switchingKeys struct {
	mu  sync.Mutex
	key ed25519.PrivateKey
}

func (k *switchingKeys) Active() (string, ed25519.PrivateKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return signing.KeyID(k.key.Public().(ed25519.PublicKey)), k.key
}

// TestSendSignsWithTheActiveKeyAndNamesIt: with Keys, each push is signed
// by the key active when it is sent, named in X-Key-Id.
func TestSendSignsWithTheActiveKeyAndNamesIt(t *testing.T) {
	oldPub, oldKey := newKey(t)
	newPub, newKey := newKey(t)
	keys := &switchingKeys{key: oldKey}
	var kids []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kid := r.Header.Get(signing.HeaderKeyID)
		pub := map[string]ed25519.PublicKey{signing.KeyID(oldPub): oldPub, signing.KeyID(newPub): newPub}[kid]
		h, err := signing.ParseHeaders(r.Header.Get)
		if err == nil && pub != nil {
			err = signing.Verify(pub, r.Method, r.RequestURI, h, payload)
		}
		if err != nil || pub == nil {
			t.Errorf("push with X-Key-Id %q does not verify under it: %v", kid, err)
		}
		mu.Lock()
		kids = append(kids, kid)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, Config{Keys: keys, Policy: development})
	if err := c.Send(context.Background(), srv.URL+"/push", payload); err != nil {
		t.Fatal(err)
	}
	keys.mu.Lock()
	keys.key = newKey
	keys.mu.Unlock()
	if err := c.Send(context.Background(), srv.URL+"/push", payload); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kids) != 2 || kids[0] != signing.KeyID(oldPub) || kids[1] != signing.KeyID(newPub) {
		t.Fatalf("pushes named %v", kids)
	}
}
