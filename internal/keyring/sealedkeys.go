package keyring

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/approvald/approvald/internal/core"
)

// Sealer seals secrets at rest and opens them (secretbox.Box).
type Sealer interface {
	Seal(plaintext, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
	// SealedWithPrimary tells a value sealed under the current key from one
	// sealed under an older key.
	SealedWithPrimary(sealed []byte) bool
}

// SealedKeys is a core.KeyStore whose private keys are sealed at rest: a
// copy of the database alone signs no token and no push. Keys stored in
// the clear (before sealing existed) or sealed under an older SECRET_KEY
// are sealed anew under the current one as they are read.
type SealedKeys struct {
	Store core.KeyStore
	Box   Sealer
}

var _ core.KeyStore = SealedKeys{}

// keyAAD binds a sealed private key to its row: a sealed value copied onto
// another key's row does not open.
func keyAAD(k *core.SigningKey) []byte {
	return []byte("signing-key:" + string(k.Purpose) + ":" + k.KID)
}

// Keys implements core.KeyStore, opening each key.
func (s SealedKeys) Keys(ctx context.Context, purpose core.KeyPurpose) ([]*core.SigningKey, error) {
	keys, err := s.Store.Keys(ctx, purpose)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := s.open(ctx, k); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// InsertKeyIfNone implements core.KeyStore, sealing k.
func (s SealedKeys) InsertKeyIfNone(ctx context.Context, k *core.SigningKey) (*core.SigningKey, error) {
	winner, err := s.Store.InsertKeyIfNone(ctx, s.seal(k))
	if err != nil {
		return nil, err
	}
	if err := s.open(ctx, winner); err != nil {
		return nil, err
	}
	return winner, nil
}

// RotateKey implements core.KeyStore, sealing k.
func (s SealedKeys) RotateKey(ctx context.Context, k *core.SigningKey) error {
	return s.Store.RotateKey(ctx, s.seal(k))
}

// seal is a copy of k with its private key sealed.
func (s SealedKeys) seal(k *core.SigningKey) *core.SigningKey {
	sealed := *k
	sealed.PrivateKey = s.Box.Seal(k.PrivateKey, keyAAD(k))
	return &sealed
}

// ReplacePrivateKey implements core.KeyStore; the values are as stored.
func (s SealedKeys) ReplacePrivateKey(ctx context.Context, kid string, old, private []byte) error {
	return s.Store.ReplacePrivateKey(ctx, kid, old, private)
}

// open replaces k's stored private key with the key itself, and seals it
// anew when it was stored in the clear or under an older key.
func (s SealedKeys) open(ctx context.Context, k *core.SigningKey) error {
	stored := k.PrivateKey
	// Only Ed25519 keys were ever stored in the clear (the RSA and ECDSA
	// keys of KeyOIDC and KeyOIDCES256, and KeyOIDCEdDSA, came after
	// sealing), and a sealed value is longer than 64 bytes, so a stored RSA
	// or ECDSA key is always opened, whatever its length, and a key of the
	// later purposes is never taken as stored in the clear.
	inTheClear := len(stored) == ed25519.PrivateKeySize && (k.Purpose == core.KeyJWT || k.Purpose == core.KeyPush)
	if !inTheClear {
		private, err := s.Box.Open(stored, keyAAD(k))
		if err != nil {
			return &core.Error{Code: core.EInternal, Message: "internal error",
				Err: fmt.Errorf("signing key %q does not open (another SECRET_KEY, and the old one not in SECRET_KEYS_PREVIOUS?): %w", k.KID, err)}
		}
		k.PrivateKey = private
	}
	if inTheClear || !s.Box.SealedWithPrimary(stored) {
		return s.Store.ReplacePrivateKey(ctx, k.KID, stored, s.Box.Seal(k.PrivateKey, keyAAD(k)))
	}
	return nil
}
