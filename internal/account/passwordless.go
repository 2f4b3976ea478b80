package account

import (
	"context"
	"fmt"

	"github.com/approvald/approvald/internal/core"
)

// PasswordlessTarget is whom a passwordless login asks: decided before any
// approval starts, so the caller starts one of the same shape for everyone.
type PasswordlessTarget struct {
	// User is the verified user whose passwordless sign-in is on (and
	// allowed), nil when nobody is asked: an unknown identifier, a user
	// with it off, or passwordless SMS no longer allowed by the operator.
	User *core.User
	// Mode is the channel of the approval: the user's setting, or for
	// nobody the identifier's own placeholder channel (decoyMode), the
	// same at every try, so that the channel tells nothing either.
	Mode core.Passwordless
	// Key names the identifier without saying it (a keyed hash), for
	// what the approval keeps per identifier (approval.StartInput).
	Key string
}

// Passwordless resolves a login with a phone or email and no password.
// Whatever the identifier, it takes a place in the per-client and
// per-identifier limits of passwordless starts first (429 past them, for
// unknown identifiers as for users), then costs one user lookup. It never
// says whether the identifier has an account.
func (s *Service) Passwordless(ctx context.Context, in LoginInput) (*PasswordlessTarget, error) {
	ident, err := loginIdentifier(in)
	if err != nil {
		return nil, err
	}
	at, err := s.reservePasswordless(ctx, ident)
	if err != nil {
		return nil, err
	}
	u, err := s.findForLogin(ctx, ident)
	if err != nil {
		s.giveBackPasswordless(ctx, at)
		return nil, err
	}
	t := &PasswordlessTarget{Mode: s.decoyMode(ident), Key: s.Codes.Hash("passwordless-identifier", ident)}
	if u != nil && u.PhoneVerified && s.passwordlessAllowed(u.Passwordless) {
		t.User, t.Mode = u, u.Passwordless
	}
	return t, nil
}

// passwordlessAllowed says whether a user with setting mode is asked.
func (s *Service) passwordlessAllowed(mode core.Passwordless) bool {
	return mode == core.PasswordlessPush || (mode == core.PasswordlessSMS && s.PasswordlessSMS)
}

// decoyMode is the channel a passwordless login for ident shows when
// nobody is asked: push, or while passwordless SMS is allowed, push or SMS
// as a keyed hash of the identifier says (so it is the same at every try
// and cannot be predicted without the server's key).
func (s *Service) decoyMode(ident string) core.Passwordless {
	if !s.PasswordlessSMS {
		return core.PasswordlessPush
	}
	if h := s.Codes.Hash("passwordless-placeholder", ident); h[len(h)-1]%2 == 0 {
		return core.PasswordlessSMS
	}
	return core.PasswordlessPush
}

// passwordlessAttempt is a passwordless start's places in its limits.
type passwordlessAttempt struct {
	keys, tokens []string
}

func passwordlessIdentKey(ident string) string { return "passwordless:id:" + ident }
func passwordlessIPKey(ip string) string       { return "passwordless:ip:" + ip }

// reservePasswordless takes a start's places in the per-client and
// per-identifier limits (PasswordlessPerIP, PasswordlessPerIdentifier in
// PasswordlessWindow). They are kept: every start counts, whether anybody
// was asked or not; only a start that reached no verdict gives them back.
func (s *Service) reservePasswordless(ctx context.Context, ident string) (*passwordlessAttempt, error) {
	now := s.Clock.Now()
	at := &passwordlessAttempt{}
	limits := []struct {
		key string
		max int
	}{{passwordlessIdentKey(ident), s.Limits.PasswordlessPerIdentifier}}
	if ip := core.ClientFrom(ctx).LimitKey(); ip != "" {
		limits = append([]struct {
			key string
			max int
		}{{passwordlessIPKey(ip), s.Limits.PasswordlessPerIP}}, limits...)
	}
	for _, l := range limits {
		d, token, err := s.Limiter.Reserve(ctx, l.key, l.max, s.Limits.PasswordlessWindow, now)
		if err == nil && !d.Allowed {
			err = core.RateLimited(d.RetryAfter)
		}
		if err != nil {
			s.giveBackPasswordless(ctx, at)
			return nil, err
		}
		at.keys, at.tokens = append(at.keys, l.key), append(at.tokens, token)
	}
	return at, nil
}

// giveBackPasswordless returns a start's places: it reached no verdict.
func (s *Service) giveBackPasswordless(ctx context.Context, at *passwordlessAttempt) {
	for i, k := range at.keys {
		if err := s.Limiter.Release(context.WithoutCancel(ctx), k, at.tokens[i]); err != nil {
			s.Log.WarnContext(ctx, "passwordless start not given back", "limit", k, "err", err)
		}
	}
}

// SetPasswordless changes the user's passwordless sign-in setting and tells
// the user by SMS. "push" needs an enrolled device (every device is asked
// by a push, through its push_url or by polling); "sms" needs the operator's
// PASSWORDLESS_SMS. The caller has checked that the change follows a fresh
// login.
func (s *Service) SetPasswordless(ctx context.Context, userID string, mode core.Passwordless) (*Profile, error) {
	p, err := s.Profile(ctx, userID)
	if err != nil {
		return nil, err
	}
	switch mode {
	case core.PasswordlessOff:
	case core.PasswordlessPush:
		if p.Devices == 0 {
			return nil, core.FieldError(core.EInvalidRequest, "passwordless", "passwordless push needs an enrolled device; add one first")
		}
	case core.PasswordlessSMS:
		if !s.PasswordlessSMS {
			return nil, core.FieldError(core.EInvalidRequest, "passwordless", "this server does not offer passwordless sign-in by SMS")
		}
	default:
		return nil, core.FieldError(core.EInvalidRequest, "passwordless", `passwordless must be "push", "sms" or "off"`)
	}
	if p.User.Passwordless == mode {
		return p, nil
	}
	if err := s.Users.SetPasswordless(ctx, userID, mode, s.Clock.Now()); err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "passwordless sign-in changed", "user_id", userID, "passwordless", mode)
	s.Audit.Record(ctx, userID, core.EventPasswordless, "passwordless sign-in set to "+string(mode))
	s.Texts.Notify(ctx, p.User.Phone, passwordlessNotice(mode))
	return s.Profile(ctx, userID)
}

func passwordlessNotice(mode core.Passwordless) string {
	if mode == core.PasswordlessOff {
		return "passwordless sign-in was turned off for your account."
	}
	return fmt.Sprintf("passwordless sign-in by %s was turned on for your account: you can now sign in without your password.", mode)
}
