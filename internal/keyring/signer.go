package keyring

import (
	"crypto"
	"time"
)

// Signer returns the key that signs now (the one Active names) with its kid
// and JWS alg: "EdDSA" for an Ed25519 key, which signs the message itself
// (crypto.Hash(0)); "RS256" for an RSA key, which signs the message's
// SHA-256 digest (crypto.SHA256, PKCS #1 v1.5); "ES256" for an ECDSA P-256
// key, which signs the SHA-256 digest too (an ASN.1 signature from Sign;
// JWS wants r || s, which go-jose makes from the *ecdsa.PrivateKey itself).
func (r *Ring) Signer() (kid, alg string, key crypto.Signer) {
	k := r.active(r.clock.Now())
	return k.kid, k.alg, k.private
}

// VerificationKey is a public key of a ring that verifies now. Public is
// an ed25519.PublicKey, an *rsa.PublicKey or an *ecdsa.PublicKey, shared
// with the ring: it is not to be changed.
type VerificationKey struct {
	KID, Alg string
	Public   crypto.PublicKey
}

// VerificationKeys returns every key that verifies now, the active one
// first: the keys of JWKS.
func (r *Ring) VerificationKeys() []VerificationKey {
	var out []VerificationKey
	for _, k := range r.verifying(r.clock.Now()) {
		out = append(out, VerificationKey{KID: k.kid, Alg: k.alg, Public: k.public})
	}
	return out
}

// verifying is every key that verifies at now (a rotated-in key before it
// signs), the active one first.
func (r *Ring) verifying(now time.Time) []*ringKey {
	active := r.active(now)
	keys := []*ringKey{active}
	for _, k := range *r.keys.Load() {
		if k != active && k.verifiesAt(now) {
			keys = append(keys, k)
		}
	}
	return keys
}
