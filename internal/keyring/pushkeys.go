package keyring

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

// DefaultPushKeyGrace is how long, at most, the old push key keeps signing
// after `approvald rotate-key --push` (PUSH_KEY_GRACE): the new key signs
// earlier once every device has confirmed it.
const DefaultPushKeyGrace = 7 * 24 * time.Hour

// KeyActivator moves a rotated-in key's start earlier (store.DB; SealedKeys
// passes it through).
type KeyActivator interface {
	// ActivateKey makes kid, the newest key of purpose, sign from at when it
	// would start later, and retires the key before it at at.
	ActivateKey(ctx context.Context, purpose core.KeyPurpose, kid string, at time.Time) error
}

// ActivateKey implements KeyActivator when the wrapped store does.
func (s SealedKeys) ActivateKey(ctx context.Context, purpose core.KeyPurpose, kid string, at time.Time) error {
	a, ok := s.Store.(KeyActivator)
	if !ok {
		return fmt.Errorf("keyring: the key store cannot activate a key early")
	}
	return a.ActivateKey(ctx, purpose, kid, at)
}

// RotatePushKey stores a new push key that signs from now+grace at the
// latest; the key signing now keeps signing until then (or until
// ActivateEarly). Devices learn the new key from a statement signed by the
// old one (Announcement). A rotation still under way is not replaced: a
// device that pinned the old key could not follow two steps.
func RotatePushKey(ctx context.Context, ks core.KeyStore, now time.Time, grace time.Duration) (*core.SigningKey, error) {
	stored, err := ks.Keys(ctx, core.KeyPush)
	if err != nil {
		return nil, err
	}
	if len(stored) > 0 && stored[0].CreatedAt.After(now) {
		return nil, core.Errorf(core.EInvalidRequest, "a push key rotation is under way: key %s signs from %s at the latest, or once every device has confirmed it",
			stored[0].KID, stored[0].CreatedAt.UTC().Format(time.RFC3339))
	}
	fresh, err := GenerateKey(core.KeyPush, now.Add(grace))
	if err != nil {
		return nil, err
	}
	if err := ks.RotateKey(ctx, fresh); err != nil {
		return nil, err
	}
	return fresh, nil
}

// Pending returns the newest key when it does not sign yet (a rotation
// under way), with when it will.
func (r *Ring) Pending() (kid string, from time.Time, ok bool) {
	newest := (*r.keys.Load())[0]
	if newest.createdAt.After(r.clock.Now()) {
		return newest.kid, newest.createdAt, true
	}
	return "", time.Time{}, false
}

// NewestKID is the kid of the newest key: the one devices are to pin.
func (r *Ring) NewestKID() string { return (*r.keys.Load())[0].kid }

// Announcement is the newest key stated by the key before it, for a device
// that has not confirmed it (seenKID is the kid it last confirmed, "" when
// unknown); nil when the ring has one key, or seenKID is the newest. It is
// for the Ed25519 rings (the push keys).
func (r *Ring) Announcement(seenKID string) *signing.KeyStatement {
	keys := *r.keys.Load()
	if len(keys) < 2 || keys[0].kid == seenKID {
		return nil
	}
	next, ok1 := keys[0].public.(ed25519.PublicKey)
	old, ok2 := keys[1].private.(ed25519.PrivateKey)
	if !ok1 || !ok2 {
		return nil
	}
	s := signing.SignKeyStatement(old, next)
	return &s
}

// ActivateEarly makes the pending key sign from at (when later than that
// now) in the store, and reloads the ring; false when no key is pending.
// Other instances read it at their next reload: at should leave them time.
func (r *Ring) ActivateEarly(ctx context.Context, at time.Time) (bool, error) {
	kid, from, ok := r.Pending()
	if !ok || !from.After(at) {
		return false, nil
	}
	a, ok := r.store.(KeyActivator)
	if !ok {
		return false, fmt.Errorf("keyring: the key store cannot activate a key early")
	}
	if err := a.ActivateKey(ctx, r.purpose, kid, at); err != nil {
		return false, err
	}
	return true, r.Reload(ctx)
}
