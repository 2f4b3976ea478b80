package core

import "time"

// MaxDevices is how many authenticator devices one user may have.
const MaxDevices = 10

// Device is an enrolled authenticator app.
type Device struct {
	ID            string
	UserID        string
	Name          string
	PublicKey     []byte // raw Ed25519 public key, 32 bytes; unique
	PushURL       string // "" for a device that pulls
	TOTPSecretEnc []byte // the 20-byte TOTP secret, sealed with AES-GCM
	LastTOTPStep  int64  // the newest accepted TOTP step, so no step is accepted twice
	CreatedAt     time.Time
	LastUsedAt    *time.Time
	// PushKeySeen is the kid of the newest push key the device confirmed
	// (it pinned it); "" when it never said.
	PushKeySeen string
}

// Enrollment is a single-use code that lets a new device join a user.
type Enrollment struct {
	CodeHash  string
	UserID    string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}
