// Package passkey is the passkey (WebAuthn) login: registering discoverable
// credentials for a logged-in user, and a complete login with one of them,
// which ends in a session of its own (amr hwk or swk, user, mfa).
//
// Every ceremony starts with options the server keeps in core.KV for
// ChallengeTTL under a random id, spent by the first attempt to finish it.
// Every refusal of a finish is EPasskeyRefused, whatever the reason, so an
// answer says nothing about whether a credential exists; the reason goes to
// the log.
package passkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

// ChallengeTTL is how long a ceremony's options may be answered.
const ChallengeTTL = 5 * time.Minute

// Config is the relying party: PUBLIC_URL names its ID (the host) and its
// first origin, ExtraOrigins (WEBAUTHN_ORIGINS) the others.
type Config struct {
	PublicURL    string
	ExtraOrigins []string
	// DisplayName is what authenticators show for this relying party.
	DisplayName string
}

// Notifier tells a user of a change by SMS.
type Notifier interface {
	Notify(ctx context.Context, phone, text string)
}

// Issuer starts sessions.
type Issuer interface {
	Issue(ctx context.Context, userID string, amr []string, authTime time.Time) (*session.TokenPair, error)
}

// Limits bound the ceremonies: logins per client address, registrations per
// user.
type Limits struct {
	OptionsPerIP         int           // login ceremonies started per client address per OptionsWindow (60)
	OptionsWindow        time.Duration // 1 min
	FailuresPerIP        int           // refused logins per client address per FailureWindow (20)
	FailureWindow        time.Duration // 15 min
	RegistrationsPerHour int           // registrations started per user per hour (20)
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{OptionsPerIP: 60, OptionsWindow: time.Minute, FailuresPerIP: 20, FailureWindow: 15 * time.Minute,
		RegistrationsPerHour: 20}
}

// Deps are what a Service is built from: every field must be set.
type Deps struct {
	Passkeys core.PasskeyStore
	Users    core.UserStore
	KV       core.KV
	Limiter  core.Limiter
	Tokens   Issuer
	Notices  Notifier
	Audit    core.Auditor
	Limits   Limits
	Clock    core.Clock
	Log      *slog.Logger
}

// Service runs the passkey ceremonies. Build one with New.
type Service struct {
	Deps
	wa *webauthn.WebAuthn // nil: passkeys are off
}

// New returns the service for cfg on d. When PUBLIC_URL's host is an IP
// address (which cannot be an RP ID) the service is built with passkeys off:
// Enabled is false and every ceremony answers EPasskeysUnavailable.
func New(cfg Config, d Deps) (*Service, error) {
	if err := core.CheckDeps("passkey.New", d); err != nil {
		return nil, err
	}
	s := &Service{Deps: d}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("passkey.New: PublicURL %q is not a URL", cfg.PublicURL)
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return s, nil
	}
	name := cfg.DisplayName
	if name == "" {
		name = "approvald"
	}
	origins := append([]string{u.Scheme + "://" + u.Host}, cfg.ExtraOrigins...)
	s.wa, err = webauthn.New(&webauthn.Config{
		RPID:                  strings.ToLower(host),
		RPDisplayName:         name,
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey.New: %w", err)
	}
	return s, nil
}

// Enabled says whether passkeys are on.
func (s *Service) Enabled() bool { return s != nil && s.wa != nil }

// RPID is the relying party's id (PUBLIC_URL's host); "" when passkeys are
// off.
func (s *Service) RPID() string {
	if !s.Enabled() {
		return ""
	}
	return s.wa.Config.RPID
}

func (s *Service) check() error {
	if !s.Enabled() {
		return core.Errorf(core.EPasskeysUnavailable, "passkeys are not available on this server")
	}
	return nil
}

// refused is the one answer to a finish that is not accepted; why stays in
// the log.
func refused(cause error) *core.Error {
	var pe *protocol.Error
	if errors.As(cause, &pe) && pe.DevInfo != "" {
		cause = fmt.Errorf("%w (%s)", cause, pe.DevInfo)
	}
	return &core.Error{Code: core.EPasskeyRefused, Message: "the passkey was not accepted", Err: cause}
}
