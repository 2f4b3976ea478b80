package core

import (
	"errors"
	"time"
)

// MaxDevices is how many authenticator devices one user may have.
const MaxDevices = 10

// Device is an enrolled authenticator app.
type Device struct {
	ID        string
	UserID    string
	Name      string
	PublicKey []byte // raw Ed25519 public key, 32 bytes; unique
	PushURL   string // "" for a device that pulls
	// WebPush is the device's Web Push subscription (RFC 8030), beside or
	// instead of PushURL; its Endpoint is "" when it has none.
	WebPush       WebPush
	TOTPSecretEnc []byte // the 20-byte TOTP secret, sealed with AES-GCM
	LastTOTPStep  int64  // the newest accepted TOTP step, so no step is accepted twice
	CreatedAt     time.Time
	LastUsedAt    *time.Time
	// PushKeySeen is the kid of the newest push key the device confirmed
	// (it pinned it); "" when it never said.
	PushKeySeen string
}

// WebPush is a browser's (or a UnifiedPush distributor's) PushSubscription:
// where to POST, and the keys that encrypt for it (RFC 8291).
type WebPush struct {
	Endpoint string
	P256dh   []byte // the subscription's uncompressed P-256 public key, 65 bytes
	Auth     []byte // its 16-byte auth secret
}

// ErrWebPushGone is what a Web Push send wraps when the push service says
// the subscription is gone (404, 410): it will never deliver again.
var ErrWebPushGone = errors.New("web push subscription is gone")

// Enrollment is a single-use code that lets a new device join a user.
type Enrollment struct {
	CodeHash  string
	UserID    string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}
