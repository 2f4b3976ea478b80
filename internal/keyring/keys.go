package keyring

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// RetiredKeyGrace is how long a retired key still verifies and stays in the
// JWKS: twice the longest access-token lifetime (session.DefaultAccessTTL;
// a session test holds the two together), so every token it signed has
// expired and every client had time to fetch the new key set.
const RetiredKeyGrace = 20 * time.Minute

// Ring holds the server's keys of one purpose: the one that signs now, and
// those that still verify. They are RSA keys for KeyOIDC, ECDSA P-256 keys
// for KeyOIDCES256 and KeyVAPID, Ed25519 keys otherwise (see GenerateKey). It is safe for concurrent use; Reload
// replaces its keys with what the store holds.
type Ring struct {
	purpose core.KeyPurpose
	clock   core.Clock
	store   core.KeyStore
	keys    atomic.Pointer[[]*ringKey] // newest first, never empty
}

// ringKey is a decoded core.SigningKey.
type ringKey struct {
	kid       string
	alg       string           // algEdDSA, algRS256 or algES256
	private   crypto.Signer    // ed25519.PrivateKey, *rsa.PrivateKey or *ecdsa.PrivateKey
	public    crypto.PublicKey // ed25519.PublicKey, *rsa.PublicKey or *ecdsa.PublicKey
	createdAt time.Time
	retiredAt *time.Time
}

// Load reads the keys of purpose from ks. When none is unretired it
// generates one and stores it with InsertKeyIfNone, whose answer is used, so
// instances starting together end up signing with the same key.
func Load(ctx context.Context, ks core.KeyStore, purpose core.KeyPurpose, clock core.Clock) (*Ring, error) {
	ring := &Ring{purpose: purpose, clock: clock, store: ks}
	keys, err := ring.read(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(keys, func(k *ringKey) bool { return k.retiredAt == nil }) {
		fresh, err := GenerateKey(purpose, clock.Now())
		if err != nil {
			return nil, err
		}
		if _, err := ks.InsertKeyIfNone(ctx, fresh); err != nil {
			return nil, err
		}
		if keys, err = ring.read(ctx); err != nil {
			return nil, err
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyring: no %s key after storing one", purpose)
	}
	ring.keys.Store(&keys)
	return ring, nil
}

// read decodes the stored keys of the ring's purpose, newest first.
func (r *Ring) read(ctx context.Context) ([]*ringKey, error) {
	stored, err := r.store.Keys(ctx, r.purpose)
	if err != nil {
		return nil, err
	}
	keys := make([]*ringKey, 0, len(stored))
	for _, sk := range stored {
		k, err := decodeKey(sk)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Reload reads the keys again, so a key rotated in by another process (see
// RotateKey) verifies here before it signs anywhere. On an error the keys
// stay as they were.
func (r *Ring) Reload(ctx context.Context) error {
	keys, err := r.read(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("keyring: no %s key in the store", r.purpose)
	}
	r.keys.Store(&keys)
	return nil
}

// ReloadEvery reloads the keys every interval until ctx ends; a failure is
// logged and the keys in hand kept.
func (r *Ring) ReloadEvery(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, interval)
		if err := r.Reload(rctx); err != nil {
			log.Warn("signing keys not reloaded", "purpose", r.purpose, "err", err)
		}
		cancel()
	}
}

// DefaultReloadInterval is how often a serving instance rereads its token keys by
// default; a rotated-in key starts to sign ActivationReloads reload
// intervals later, when every instance has read it and verifies it.
const (
	DefaultReloadInterval = 30 * time.Second
	ActivationReloads     = 4
)

// RotatingPurposes are the purposes whose keys RotateKey rotates: the keys
// of tokens (access tokens, and ID tokens of each algorithm). Not KeyVAPID:
// devices subscribed to Web Push with its public key, and a new one would
// make every subscription refuse our pushes.
var RotatingPurposes = []core.KeyPurpose{core.KeyJWT, core.KeyOIDC, core.KeyOIDCES256, core.KeyOIDCEdDSA}

// RotateKey stores a new key of purpose that signs from now+delay on; the
// one signing until then is retired at that moment and keeps verifying for
// RetiredKeyGrace after. Only the keys of tokens (access and ID tokens)
// rotate so: devices pin the push key, which rotates with RotatePushKey.
func RotateKey(ctx context.Context, ks core.KeyStore, purpose core.KeyPurpose, now time.Time, delay time.Duration) (*core.SigningKey, error) {
	if !slices.Contains(RotatingPurposes, purpose) {
		return nil, core.Errorf(core.EInvalidRequest, "only the token keys rotate so: devices pin the push key, which rotates in steps (rotate-key --push)")
	}
	fresh, err := GenerateKey(purpose, now.Add(delay))
	if err != nil {
		return nil, err
	}
	if err := ks.RotateKey(ctx, fresh); err != nil {
		return nil, err
	}
	return fresh, nil
}

// Purpose is what the keys of this ring sign.
func (r *Ring) Purpose() core.KeyPurpose { return r.purpose }

// Active returns the key that signs now and its kid: the newest one created
// by now and not yet retired. It is for the Ed25519 rings (tokens, pushes):
// on an RSA or ECDSA ring it returns "", nil; Signer serves every ring.
func (r *Ring) Active() (kid string, key ed25519.PrivateKey) {
	k := r.active(r.clock.Now())
	private, ok := k.private.(ed25519.PrivateKey)
	if !ok {
		return "", nil
	}
	return k.kid, private
}

// active is the key that signs at now. Should none qualify (a key made by
// an instance whose clock runs ahead of this one's), the newest unretired
// key signs.
func (r *Ring) active(now time.Time) *ringKey {
	keys := *r.keys.Load()
	for _, k := range keys {
		if !k.createdAt.After(now) && (k.retiredAt == nil || now.Before(*k.retiredAt)) {
			return k
		}
	}
	for _, k := range keys {
		if k.retiredAt == nil {
			return k
		}
	}
	return keys[0]
}

// Public returns the Ed25519 public key named kid when it may still verify:
// it is unretired (or published ahead of its turn), or was retired less than
// RetiredKeyGrace ago. An RSA or ECDSA ring has no such key: see
// VerificationKeys.
func (r *Ring) Public(kid string) (ed25519.PublicKey, bool) {
	now := r.clock.Now()
	for _, k := range *r.keys.Load() {
		if k.kid == kid {
			public, ok := k.public.(ed25519.PublicKey)
			if !ok || !k.verifiesAt(now) {
				return nil, false
			}
			return public, true
		}
	}
	return nil, false
}

func (k *ringKey) verifiesAt(now time.Time) bool {
	return k.retiredAt == nil || now.Before(k.retiredAt.Add(RetiredKeyGrace))
}
