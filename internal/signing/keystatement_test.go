package signing

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

func TestKeyStatement(t *testing.T) {
	oldPub, oldKey, _ := ed25519.GenerateKey(nil)
	nextPub, _, _ := ed25519.GenerateKey(nil)
	otherPub, otherKey, _ := ed25519.GenerateKey(nil)
	s := SignKeyStatement(oldKey, nextPub)
	got, err := s.Verify(oldPub)
	if err != nil || !got.Equal(nextPub) || s.KID != KeyID(nextPub) {
		t.Fatalf("Verify = %x, %v", got, err)
	}
	if _, err := s.Verify(otherPub); !errors.Is(err, ErrKeyStatementSigner) {
		t.Fatalf("under another pin: %v", err)
	}
	// A forged rotation: signed by a key that is not the pin, claiming it is.
	forged := SignKeyStatement(otherKey, nextPub)
	forged.SignedBy = KeyID(oldPub)
	if _, err := forged.Verify(oldPub); !errors.Is(err, ErrKeyStatement) {
		t.Fatalf("forged: %v", err)
	}
	// Another key under a genuine signature's kid.
	swapped := s
	swapped.PublicKey = SignKeyStatement(oldKey, otherPub).PublicKey
	if _, err := swapped.Verify(oldPub); !errors.Is(err, ErrKeyStatement) {
		t.Fatalf("swapped key: %v", err)
	}
}
