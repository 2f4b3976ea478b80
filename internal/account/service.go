// Package account is signup with phone verification, password login,
// password change and the two-factor setting: everything about an account
// that is not a token or a device.
package account

import (
	"context"
	"log/slog"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
)

// Service owns the account flows. Build one with New.
type Service struct {
	Deps
}

// Deps are what a Service is built from: every field must be set.
type Deps struct {
	Users   core.UserStore
	Devices interface {
		CountDevices(ctx context.Context, userID string) (int, error)
	}
	Hasher  core.PasswordHasher
	Codes   CodeHasher
	Texts   Texts
	KV      core.KV
	Limiter core.Limiter
	Audit   core.Auditor
	// LoginAudit records refused passwords off the request's path (a
	// store.AuditQueue): a wrong password must cost what an unknown user
	// costs, and a database write would tell them apart.
	LoginAudit core.Auditor
	Limits     Limits
	Clock      core.Clock
	Log        *slog.Logger
	CodeTTL    time.Duration // lifetime of an SMS code (CODE_TTL)
	// PasswordlessSMS allows passwordless sign-in by SMS code alone
	// (PASSWORDLESS_SMS): weak against SIM swaps, so the operator's choice.
	PasswordlessSMS bool `deps:"optional"`
}

// New returns the service on d, or an error naming each field of d that is
// not set.
func New(d Deps) (*Service, error) {
	if err := core.CheckDeps("account.New", d); err != nil {
		return nil, err
	}
	return &Service{d}, nil
}

// ResendCooldown is the least time between two codes texted for one
// verification (POST /api/v1/signup/resend answers 429 before it).
func (s *Service) ResendCooldown() time.Duration { return core.ResendCooldown }

// Texts sends the account's text messages (texts.Texter): codes, under the
// phone's, the client's and the service's limits, and notices.
type Texts interface {
	// Textable refuses (invalid_phone) a number that is not texted.
	Textable(e164 string) error
	SendCode(ctx context.Context, c core.CodeText) error
	Notify(ctx context.Context, phone, text string)
}

// CodeHasher keys and compares the codes texted to phones
// (otp.CodeHasher).
type CodeHasher interface {
	Hash(scope, code string) string
	Equal(hash, scope, code string) bool
}

var _ CodeHasher = (*otp.CodeHasher)(nil)

// Password bounds of the contract, in characters.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)
