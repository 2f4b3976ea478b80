package authenticator

import (
	"crypto/ed25519"
	"errors"
	"sync"

	"github.com/approvald/approvald/internal/signing"
)

// pinMu guards the server keys of every State (ServerPublicKey and
// PreviousServerKey): a push receiver learns a key while a client reads it.
var pinMu sync.RWMutex

// ErrForgedKey is LearnServerKey's answer for a key statement the pinned
// key did not sign: a rotation nobody can trust.
var ErrForgedKey = errors.New("the announced server key is not signed by the pinned server key")

// ServerKeyID is the kid of the server key this device pins.
func (s *State) ServerKeyID() string {
	pinMu.RLock()
	defer pinMu.RUnlock()
	return signing.KeyID(s.ServerPublicKey)
}

// serverKeys returns the pinned key and the previous one (nil when none).
func (s *State) serverKeys() (pin, previous ed25519.PublicKey) {
	pinMu.RLock()
	defer pinMu.RUnlock()
	return s.ServerPublicKey, s.PreviousServerKey
}

// LearnServerKey checks a key statement with the pinned key and, when it
// announces a new key, pins that one; the old key is kept as
// PreviousServerKey, which still verifies pushes until the new key signs
// one (the server keeps signing with the old key until every device has
// confirmed the new one). learned is false when the statement names the
// key already pinned. A statement not signed by the pin is ErrForgedKey
// and changes nothing.
func (s *State) LearnServerKey(st signing.KeyStatement) (learned bool, err error) {
	pinMu.Lock()
	defer pinMu.Unlock()
	if st.KID == signing.KeyID(s.ServerPublicKey) {
		return false, nil
	}
	next, err := st.Verify(s.ServerPublicKey)
	if err != nil {
		return false, ErrForgedKey
	}
	s.PreviousServerKey, s.ServerPublicKey = s.ServerPublicKey, next
	return true, nil
}

// dropPreviousServerKey forgets the previous key once the pinned one signs.
func (s *State) dropPreviousServerKey() bool {
	pinMu.Lock()
	defer pinMu.Unlock()
	dropped := s.PreviousServerKey != nil
	s.PreviousServerKey = nil
	return dropped
}

func (s *State) pinned() ed25519.PublicKey {
	pin, _ := s.serverKeys()
	return pin
}
