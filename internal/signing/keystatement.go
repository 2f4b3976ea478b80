package signing

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// HeaderKeyID names, on a push, the server key that signed it (its kid).
// The signature does not cover it: it only says which key to verify with.
const HeaderKeyID = "X-Key-Id"

// KeyStatementVersion is the first line of a key statement's signed bytes.
const KeyStatementVersion = "approvald-push-key-v1"

// KeyStatement is the server's word, signed by its previous push key, that
// KID (with PublicKey) is its next push key. A device that pinned SignedBy
// verifies it with that pin, then pins PublicKey.
type KeyStatement struct {
	KID       string `json:"kid"`
	PublicKey string `json:"public_key"` // base64url of the raw 32-byte Ed25519 key
	SignedBy  string `json:"signed_by"`  // the kid of the key that signed
	Signature string `json:"signature"`  // base64url Ed25519 over KeyStatementBytes
}

// KeyID names an Ed25519 public key: base64url of the first 12 bytes of
// its SHA-256 (keyring.KeyID's rule).
func KeyID(public ed25519.PublicKey) string {
	sum := sha256.Sum256(public)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// KeyStatementBytes are what a key statement signs:
//
//	approvald-push-key-v1 \n kid \n public_key
func KeyStatementBytes(kid, publicKey string) []byte {
	return []byte(KeyStatementVersion + "\n" + kid + "\n" + publicKey)
}

// SignKeyStatement states, with the key old, that next is the next push key.
func SignKeyStatement(old ed25519.PrivateKey, next ed25519.PublicKey) KeyStatement {
	kid, pub := KeyID(next), base64.RawURLEncoding.EncodeToString(next)
	return KeyStatement{
		KID: kid, PublicKey: pub, SignedBy: KeyID(old.Public().(ed25519.PublicKey)),
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(old, KeyStatementBytes(kid, pub))),
	}
}

// Errors of Verify.
var (
	ErrKeyStatementSigner = errors.New("the key statement is not signed by the pinned key")
	ErrKeyStatement       = errors.New("the key statement is malformed or its signature is not valid")
)

// Verify checks the statement against the pinned key pin and returns the
// key it announces: signed by pin, and KID names PublicKey.
func (s KeyStatement) Verify(pin ed25519.PublicKey) (ed25519.PublicKey, error) {
	if len(pin) != ed25519.PublicKeySize || s.SignedBy != KeyID(pin) {
		return nil, ErrKeyStatementSigner
	}
	pub, err := DecodeB64(s.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize || KeyID(pub) != s.KID {
		return nil, ErrKeyStatement
	}
	sig, err := DecodeB64(s.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pin, KeyStatementBytes(s.KID, s.PublicKey), sig) {
		return nil, ErrKeyStatement
	}
	return ed25519.PublicKey(pub), nil
}
