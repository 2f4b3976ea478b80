package session

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// RetiredKeyGrace is how long a retired key still verifies and stays in the
// JWKS: twice the access-token lifetime, so every token it signed has expired
// and every client had time to fetch the new key set.
const RetiredKeyGrace = 2 * DefaultAccessTTL

// Keyring holds the server's Ed25519 keys of one purpose: the active one that
// signs, and those that still verify. It is read-only after LoadKeyring and
// safe for concurrent use.
type Keyring struct {
	purpose core.KeyPurpose
	clock   core.Clock
	active  *ringKey
	keys    []*ringKey // newest first, the active one included
}

// ringKey is a decoded core.SigningKey.
type ringKey struct {
	kid       string
	private   ed25519.PrivateKey
	public    ed25519.PublicKey
	retiredAt *time.Time
}

// LoadKeyring reads the keys of purpose from ks. When none is unretired it
// generates one and stores it with InsertKeyIfNone, whose answer is used, so
// instances starting together end up signing with the same key.
func LoadKeyring(ctx context.Context, ks core.KeyStore, purpose core.KeyPurpose, clock core.Clock) (*Keyring, error) {
	stored, err := ks.Keys(ctx, purpose)
	if err != nil {
		return nil, err
	}
	ring := &Keyring{purpose: purpose, clock: clock}
	for _, sk := range stored {
		k, err := decodeKey(sk)
		if err != nil {
			return nil, err
		}
		ring.keys = append(ring.keys, k)
		if ring.active == nil && k.retiredAt == nil {
			ring.active = k
		}
	}
	if ring.active != nil {
		return ring, nil
	}

	fresh, err := GenerateKey(purpose, clock.Now())
	if err != nil {
		return nil, err
	}
	winner, err := ks.InsertKeyIfNone(ctx, fresh)
	if err != nil {
		return nil, err
	}
	active, err := decodeKey(winner)
	if err != nil {
		return nil, err
	}
	ring.active = active
	ring.keys = append([]*ringKey{active}, ring.keys...)
	return ring, nil
}

// GenerateKey returns a new Ed25519 signing key of purpose, not yet stored.
func GenerateKey(purpose core.KeyPurpose, now time.Time) (*core.SigningKey, error) {
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return &core.SigningKey{
		KID:        KeyID(public),
		Purpose:    purpose,
		PrivateKey: private,
		CreatedAt:  now,
	}, nil
}

// KeyID names a public key: base64url of the first 12 bytes of its SHA-256.
func KeyID(public ed25519.PublicKey) string {
	sum := sha256.Sum256(public)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func decodeKey(sk *core.SigningKey) (*ringKey, error) {
	if len(sk.PrivateKey) != ed25519.PrivateKeySize {
		return nil, &core.Error{Code: core.EInternal, Message: "internal error",
			Err: fmt.Errorf("signing key %q: private key has %d bytes, want %d", sk.KID, len(sk.PrivateKey), ed25519.PrivateKeySize)}
	}
	private := ed25519.PrivateKey(sk.PrivateKey)
	return &ringKey{
		kid:       sk.KID,
		private:   private,
		public:    private.Public().(ed25519.PublicKey),
		retiredAt: sk.RetiredAt,
	}, nil
}

// Purpose is what the keys of this ring sign.
func (r *Keyring) Purpose() core.KeyPurpose { return r.purpose }

// Active returns the key that signs now and its kid.
func (r *Keyring) Active() (kid string, key ed25519.PrivateKey) {
	return r.active.kid, r.active.private
}

// Public returns the public key named kid when it may still verify: it is
// unretired, or was retired less than RetiredKeyGrace ago.
func (r *Keyring) Public(kid string) (ed25519.PublicKey, bool) {
	now := r.clock.Now()
	for _, k := range r.keys {
		if k.kid == kid {
			if !k.verifiesAt(now) {
				return nil, false
			}
			return k.public, true
		}
	}
	return nil, false
}

func (k *ringKey) verifiesAt(now time.Time) bool {
	return k.retiredAt == nil || now.Before(k.retiredAt.Add(RetiredKeyGrace))
}
