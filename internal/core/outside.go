package core

import (
	"context"
	"time"
)

// SMSSender delivers a text message to an E.164 number. An error means it
// was not sent and is never reported as sent.
type SMSSender interface {
	Send(ctx context.Context, to, body string) error
}

// CodeText is one code message the services ask to send.
type CodeText struct {
	Kind   string // why it is sent: one of SMSKinds
	UserID string // the account it is for (the audit trail's); "" when none
	Phone  string // E.164
	Code   string
	TTL    time.Duration // how long the code works, told in the message
}

// Kinds of code message (CodeText.Kind). The browser-requested ones are
// also counted per client address.
const (
	SMSSignup         = "signup"          // the code a signup sends
	SMSSignupResend   = "signup_resend"   // POST /api/v1/signup/resend
	SMSLogin          = "login"           // a login's code, sent without being asked
	SMSLoginRequested = "login_requested" // POST /api/v1/approvals/{id}/sms
)

// SMSKinds lists every CodeText.Kind.
var SMSKinds = []string{SMSSignup, SMSSignupResend, SMSLogin, SMSLoginRequested}

// RequestedByClient reports whether the client asked for this message
// itself (a resend), rather than it following from a signup or a login.
func (c CodeText) RequestedByClient() bool {
	return c.Kind == SMSSignupResend || c.Kind == SMSLoginRequested
}

// PasswordHasher hashes and verifies passwords in PHC string form.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// should be replaced by a fresh hash (its parameters are outdated).
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
	// Dummy spends the time of one verification, for unknown users; it
	// fails as Verify would when no verification can be run (overload).
	Dummy(ctx context.Context, password string) error
}
