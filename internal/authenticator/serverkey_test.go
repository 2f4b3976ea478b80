package authenticator

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/signing"
)

// withNextKey is body with next_key set to s.
func withNextKey(t *testing.T, body []byte, s signing.KeyStatement) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["next_key"] = s
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedBy is a push signed by key, naming it in X-Key-Id.
func (f *pushFixture) signedBy(key ed25519.PrivateKey, body []byte) *http.Request {
	saved := f.serverKey
	defer func() { f.serverKey = saved }()
	f.serverKey = key
	r := f.request("/push", body, f.now)
	r.Header.Set(signing.HeaderKeyID, signing.KeyID(key.Public().(ed25519.PublicKey)))
	return r
}

// TestPushLearnsTheRotatedServerKey: a push signed by the pinned key that
// announces the next key, under the pin's signature, makes the device pin
// it; the old key still verifies until the new one signs, then not.
func TestPushLearnsTheRotatedServerKey(t *testing.T) {
	f := newPushFixture(t)
	oldKey := f.serverKey
	oldPub := oldKey.Public().(ed25519.PublicKey)
	newPub, newKey, _ := ed25519.GenerateKey(nil)
	h, accepted, rejected := f.receiver()
	learned := 0
	h.KeyLearned = func() { learned++ }

	body := withNextKey(t, f.body(nil), signing.SignKeyStatement(oldKey, newPub))
	if code := serve(h, f.signedBy(oldKey, body)); code != http.StatusOK {
		t.Fatalf("the push announcing the new key answered %d: %v", code, <-rejected)
	}
	<-accepted
	if !f.state.ServerPublicKey.Equal(newPub) || !f.state.PreviousServerKey.Equal(oldPub) || learned != 1 {
		t.Fatalf("after the announcement: pin %x, previous %x, learned %d", f.state.ServerPublicKey, f.state.PreviousServerKey, learned)
	}
	if f.state.ServerKeyID() != signing.KeyID(newPub) {
		t.Fatal("ServerKeyID does not name the new pin")
	}
	// Saved and read back, both keys stay.
	path := filepath.Join(t.TempDir(), "state.json")
	if err := f.state.Save(path); err != nil {
		t.Fatal(err)
	}
	if back, err := Load(path); err != nil || !back.ServerPublicKey.Equal(newPub) || !back.PreviousServerKey.Equal(oldPub) {
		t.Fatalf("Load after Save: %v", err)
	}

	// The old key keeps signing for a while: accepted.
	if code := serve(h, f.signedBy(oldKey, f.body(nil))); code != http.StatusOK {
		t.Fatalf("a push by the old key during the rotation answered %d: %v", code, <-rejected)
	}
	<-accepted
	// The new key signs: accepted, and the old key is done with.
	if code := serve(h, f.signedBy(newKey, f.body(nil))); code != http.StatusOK {
		t.Fatalf("a push by the new key answered %d: %v", code, <-rejected)
	}
	<-accepted
	if f.state.PreviousServerKey != nil || learned != 2 {
		t.Fatalf("the previous key is kept after the new one signed (learned %d)", learned)
	}
	if code := serve(h, f.signedBy(oldKey, f.body(nil))); code != http.StatusUnauthorized {
		t.Fatalf("a push by the old key after the switch answered %d", code)
	}
	if err := <-rejected; !errors.Is(err, ErrPushSignature) {
		t.Fatalf("refused with %v", err)
	}
}

// TestPushLearnsAKeyThatAlreadySigns: a device that missed the rotation
// gets a push signed by the new key, which carries the statement signed
// by its pin: it verifies the statement, then the push, and pins the key.
func TestPushLearnsAKeyThatAlreadySigns(t *testing.T) {
	f := newPushFixture(t)
	newPub, newKey, _ := ed25519.GenerateKey(nil)
	h, accepted, rejected := f.receiver()
	body := withNextKey(t, f.body(nil), signing.SignKeyStatement(f.serverKey, newPub))
	if code := serve(h, f.signedBy(newKey, body)); code != http.StatusOK {
		t.Fatalf("answered %d: %v", code, <-rejected)
	}
	<-accepted
	if !f.state.ServerPublicKey.Equal(newPub) || f.state.PreviousServerKey != nil {
		t.Fatal("the new key is not the only pin")
	}
}

// TestPushRefusesAForgedRotation: a key announced under any signature but
// the pin's is not learned, and a push it signs is refused.
func TestPushRefusesAForgedRotation(t *testing.T) {
	f := newPushFixture(t)
	pin := f.state.ServerPublicKey
	_, attacker, _ := ed25519.GenerateKey(nil)
	evilPub, evilKey, _ := ed25519.GenerateKey(nil)
	forged := signing.SignKeyStatement(attacker, evilPub)
	forged.SignedBy = signing.KeyID(pin) // claims the pin signed it
	h, _, rejected := f.receiver()
	learned := false
	h.KeyLearned = func() { learned = true }

	body := withNextKey(t, f.body(nil), forged)
	if code := serve(h, f.signedBy(evilKey, body)); code != http.StatusUnauthorized {
		t.Fatalf("a push by a forged key answered %d", code)
	}
	if err := <-rejected; !errors.Is(err, ErrPushSignature) {
		t.Fatalf("refused with %v", err)
	}
	// Signed by the attacker, the announcement itself is not news either.
	if code := serve(h, f.signedBy(attacker, withNextKey(t, f.body(nil), signing.SignKeyStatement(attacker, evilPub)))); code != http.StatusUnauthorized {
		t.Fatalf("a push by the attacker's key answered %d", code)
	}
	<-rejected
	if _, err := f.state.LearnServerKey(forged); !errors.Is(err, ErrForgedKey) {
		t.Fatalf("LearnServerKey(forged) = %v", err)
	}
	if !f.state.ServerPublicKey.Equal(pin) || f.state.PreviousServerKey != nil || learned {
		t.Fatal("a forged rotation changed the pin")
	}
	// A genuine push still verifies.
	h2, accepted, _ := f.receiver()
	if code := serve(h2, f.request("/push", f.body(nil), f.now.Add(-time.Second))); code != http.StatusOK {
		t.Fatalf("a genuine push after the forgery answered %d", code)
	}
	<-accepted
}
