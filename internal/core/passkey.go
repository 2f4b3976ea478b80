package core

import (
	"context"
	"time"
)

// The methods (amr, RFC 8176) of a passkey login: a key bound to its
// hardware (hwk), or one that may be backed up or synced (swk); the
// authenticator tested the user's presence and verified the user (user), so
// the login is multi-factor (mfa).
const (
	AMRHardwareKey = "hwk"
	AMRSoftwareKey = "swk"
	AMRUser        = "user"
	AMRMFA         = "mfa"
)

// MaxPasskeys is how many passkeys one user may have.
const MaxPasskeys = 20

// Passkey is a WebAuthn credential registered by a user: a discoverable
// credential whose user handle is the user's id.
type Passkey struct {
	ID             string // pky_…
	UserID         string
	CredentialID   []byte // the authenticator's credential id, unique
	PublicKey      []byte // COSE_Key
	AAGUID         []byte
	SignCount      uint32
	BackupEligible bool
	BackupState    bool
	Name           string
	CreatedAt      time.Time
	LastUsedAt     *time.Time
}

// PasskeyUse is what a login that verified a passkey writes back.
type PasskeyUse struct {
	ID           string
	OldSignCount uint32 // the count the login was verified against
	SignCount    uint32
	BackupState  bool
	At           time.Time
}

// PasskeyStore keeps passkeys.
type PasskeyStore interface {
	// CreatePasskey stores p unless its user already has MaxPasskeys
	// passkeys (ETooManyDevices) or its credential id is taken (EKeyTaken).
	CreatePasskey(ctx context.Context, p *Passkey) error
	// PasskeyByCredentialID finds a passkey by its credential id; ENotFound
	// otherwise.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// PasskeysByUser lists the user's passkeys, oldest first.
	PasskeysByUser(ctx context.Context, userID string) ([]*Passkey, error)
	// DeletePasskey removes the user's passkey; ENotFound when the user has
	// none with that id.
	DeletePasskey(ctx context.Context, userID, id string) error
	// UsePasskey records a login: the new sign count, backup state and last
	// use, only while the stored count is still u.OldSignCount, so two
	// logins verified against the same count cannot both pass; ENotFound
	// when it matched nothing (the passkey is gone or was used meanwhile).
	UsePasskey(ctx context.Context, u PasskeyUse) error
}
