package core

import (
	"context"
	"time"
)

// The persistent stores. Every method returns *Error values for the outcomes
// a caller acts on (ENotFound, EPhoneTaken, …) and wraps database failures as
// Unavailable. Times passed in as now come from the caller's Clock, so expiry
// is decided by one clock in tests and in production.

// UserStore keeps accounts and their phone verifications.
type UserStore interface {
	// CreateSignup stores a new unverified user and its verification in one
	// transaction. An unverified account with the same phone is replaced: its
	// verifications become superseded and the account is deleted. A verified
	// account with the same phone gives EPhoneTaken; one with the same email
	// (compared lower-cased) gives EEmailTaken.
	CreateSignup(ctx context.Context, u *User, v *Verification) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByPhone and UserByEmail find verified and unverified users alike.
	UserByPhone(ctx context.Context, phone string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	SetTwoFactor(ctx context.Context, userID string, on bool, now time.Time) error
	SetPasswordless(ctx context.Context, userID string, mode Passwordless, now time.Time) error

	Verification(ctx context.Context, id string) (*Verification, error)
	// ReserveVerificationAttempt counts one code attempt on a pending
	// verification, unexpired at now, before the code is compared, and
	// returns the new count: one conditional update that takes an attempt
	// only while fewer than MaxCodeAttempts are counted, so concurrent
	// attempts never get more comparisons than that. ELocked when it is
	// locked or every attempt is taken, EExpired when it is no longer pending
	// for another reason.
	ReserveVerificationAttempt(ctx context.Context, id string, now time.Time) (attempts int, err error)
	// LockVerification locks a pending verification whose attempts are all
	// taken, after the last one's code turned out wrong.
	LockVerification(ctx context.Context, id string) error
	// ReplaceVerificationCode swaps the code of a pending, unexpired
	// verification (resend); its expiry stays as set at signup.
	ReplaceVerificationCode(ctx context.Context, id, codeHash string, sentAt time.Time) error
	// CompleteVerification marks a pending, unexpired verification verified
	// and its user's phone verified, in one transaction, and returns the user;
	// only while its count of attempts is within MaxCodeAttempts (the right
	// code's attempt was reserved and counted). ELocked when it is locked or
	// past that count, EExpired when it is past expiry or no longer pending
	// for another reason.
	CompleteVerification(ctx context.Context, id string, now time.Time) (*User, error)
}

// SessionStore keeps sessions and their hashed refresh tokens.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session, refreshHash string) error
	Session(ctx context.Context, id string) (*Session, error)
	// RotateRefresh spends the refresh token with oldHash and stores newHash
	// for the same session, updating LastUsedAt. A token that was already spent
	// revokes its whole session and gives EUnauthorized; so does an unknown
	// token or an inactive session.
	RotateRefresh(ctx context.Context, oldHash, newHash string, now time.Time, idle time.Duration) (*Session, error)
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeOtherSessions revokes every active session of userID but keepID.
	RevokeOtherSessions(ctx context.Context, userID, keepID string, now time.Time) error
	// SessionByRefreshToken returns the session whose unspent refresh token
	// has hash, spending nothing; ENotFound otherwise.
	SessionByRefreshToken(ctx context.Context, hash string) (*Session, error)
	// RevokeClientSessions revokes userID's sessions with OpenID Connect
	// client clientID.
	RevokeClientSessions(ctx context.Context, userID, clientID string, now time.Time) error
}

// KeyStore keeps the server's signing keys.
type KeyStore interface {
	// Keys returns the keys of a purpose, newest first, retired ones included.
	Keys(ctx context.Context, purpose KeyPurpose) ([]*SigningKey, error)
	// InsertKeyIfNone stores k unless an unretired key of its purpose exists,
	// so two instances starting together agree on one key. It returns the
	// active key either way.
	InsertKeyIfNone(ctx context.Context, k *SigningKey) (*SigningKey, error)
	// ReplacePrivateKey stores private as kid's private key when the stored
	// one is still old (a key sealed anew); when another instance replaced
	// it first, nothing changes and there is no error.
	ReplacePrivateKey(ctx context.Context, kid string, old, private []byte) error
	// RotateKey retires the unretired key of k's purpose at k.CreatedAt and
	// stores k, which signs from then on, in one transaction.
	RotateKey(ctx context.Context, k *SigningKey) error
}

// DeviceStore keeps authenticator devices and enrollment codes.
type DeviceStore interface {
	CreateEnrollment(ctx context.Context, e *Enrollment) error
	// UseEnrollment spends an unused, unexpired enrollment code and returns
	// it; EInvalidCode otherwise.
	UseEnrollment(ctx context.Context, codeHash string, now time.Time) (*Enrollment, error)
	// CreateDevice stores d unless its user already has MaxDevices devices
	// (ETooManyDevices) or its public key is taken (EKeyTaken).
	CreateDevice(ctx context.Context, d *Device) error
	Device(ctx context.Context, id string) (*Device, error)
	DevicesByUser(ctx context.Context, userID string) ([]*Device, error)
	CountDevices(ctx context.Context, userID string) (int, error)
	DeleteDevice(ctx context.Context, userID, id string) error
	// AcceptTOTPStep records step as used when it is newer than the last
	// accepted one; false when it (or a later one) was accepted before.
	AcceptTOTPStep(ctx context.Context, deviceID string, step int64, now time.Time) (bool, error)
	TouchDevice(ctx context.Context, id string, now time.Time) error
	// SetWebPush replaces a device's Web Push subscription with w (an
	// empty w removes it); ENotFound when there is no such device.
	SetWebPush(ctx context.Context, id string, w WebPush) error
	// DropWebPush removes a device's Web Push subscription if it still is
	// the one at endpoint (a newer one is kept); false when nothing changed.
	DropWebPush(ctx context.Context, id, endpoint string) (bool, error)
	// SetPushKeySeen records that the device confirmed the push key kid;
	// changed is false when it had already.
	SetPushKeySeen(ctx context.Context, deviceID, kid string) (changed bool, err error)
	// CountDevicesNotOnPushKey counts the devices that have not confirmed
	// the push key kid.
	CountDevicesNotOnPushKey(ctx context.Context, kid string) (int, error)
}

// ApprovalStore keeps approvals. It decides none of an approval's rules:
// package approval says what each transition writes (an ApprovalChange) and
// when it may happen; the store writes it as one guarded update, so every
// transition happens at most once across instances. The guards, in SQL,
// are the approval package's conditions, and its tests run each against
// both databases: open = status 'pending' AND expires_at > now.
type ApprovalStore interface {
	CreateApproval(ctx context.Context, a *Approval) error
	Approval(ctx context.Context, id string) (*Approval, error)
	// UpdatePending writes change to approval id while it is open at now
	// and returns the approval as written; nil when it was not open.
	UpdatePending(ctx context.Context, id string, now time.Time, change ApprovalChange) (*Approval, error)
	// ApproveWithCode writes a code's decision as UpdatePending does, and
	// only while the approval's count of attempts is within MaxCodeAttempts.
	ApproveWithCode(ctx context.Context, id string, now time.Time, d Decided) (*Approval, error)
	// DecideByDevice writes a device's decision, d.Decided, to approval id,
	// not read first: only while it is open at now and d's conditions hold.
	// With it, all or nothing, d.Event goes to the trail and the device's
	// last use becomes now. It returns the approval as decided, or nil.
	DecideByDevice(ctx context.Context, id string, now time.Time, d DeviceDecision) (*Approval, error)
	// ReserveApprovalAttempt counts one code attempt on an open approval
	// before the code is compared and returns the new count; it takes one
	// only while fewer than MaxCodeAttempts are counted, so concurrent
	// attempts never get more comparisons than that. reserved is false when
	// it took none (the approval is not open, or its attempts are all taken).
	ReserveApprovalAttempt(ctx context.Context, id string, now time.Time) (attempts int, reserved bool, err error)
	// SupersedePending writes d to the user's open approvals that were
	// pushed (push_sent_at set, whatever their channel now) and returns them
	// as decided (their channel is the one a browser is on).
	SupersedePending(ctx context.Context, userID string, now time.Time, d Decided) ([]*Approval, error)
	// ExpireDue marks pending approvals whose expires_at <= now expired and
	// returns them; each is returned by exactly one caller.
	ExpireDue(ctx context.Context, now time.Time, limit int) ([]*Approval, error)
	// DuePushTimeouts marks open push approvals whose push was sent at or
	// before sentBefore and not yet announced, and returns them (once each).
	DuePushTimeouts(ctx context.Context, sentBefore, now time.Time, limit int) ([]*Approval, error)
	// MarkExchanged records the one swap of an approved approval for a
	// session; false when it was exchanged already.
	MarkExchanged(ctx context.Context, id string, now time.Time) (bool, error)
	// PendingForUser lists the user's open approvals.
	PendingForUser(ctx context.Context, userID string, now time.Time) ([]*Approval, error)
}

// Pinger answers whether a dependency is reachable (for /readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// DeviceDecision is what DecideByDevice requires of the approval (its
// user, its match number when set, and that it was offered to the device,
// which the user still has: pushed no earlier than the device's enrollment)
// and what it records with the decision.
type DeviceDecision struct {
	Decided     Decided
	UserID      string
	DeviceID    string
	MatchNumber *int           // nil for a deny; else IsMatchNumber
	Event       *SecurityEvent // appended to UserID's trail
}
