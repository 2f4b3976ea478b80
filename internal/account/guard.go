package account

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Limits are the account flows' abuse limits (README "Security").
type Limits struct {
	LoginFailuresPerAccount int           // hard stop per phone/email in LoginWindow (10)
	LoginDelayAfter         int           // failures before each try must wait (5)
	LoginDelayBase          time.Duration // first wait; doubles per failure (1 s)
	LoginDelayMax           time.Duration // longest wait (1 min)
	LoginFailuresPerIP      int           // per client IP in LoginWindow (100)
	LoginWindow             time.Duration // 15 min
	SignupsPerIPPerHour     int           // 20
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		LoginFailuresPerAccount: 10, LoginDelayAfter: 5, LoginDelayBase: time.Second, LoginDelayMax: time.Minute,
		LoginFailuresPerIP: 100, LoginWindow: 15 * time.Minute, SignupsPerIPPerHour: 20,
	}
}

// The limits count per identifier (the normalized phone or email), not per
// account: unknown identifiers are counted the same way, so a 429 says
// nothing about whether an account exists, and a locked account answers the
// same whatever password is given.
func loginFailKey(ident string) string { return "loginfail:id:" + ident }
func loginWaitKey(ident string) string { return "loginwait:" + ident }
func loginIPKey(ip string) string      { return "loginfail:ip:" + ip }

// loginGate refuses a login attempt that a limit forbids, before any hashing.
func (s *Service) loginGate(ctx context.Context, ident string) error {
	now := s.Clock.Now()
	if ip := core.ClientFrom(ctx).LimitKey(); ip != "" {
		d, err := s.Limiter.Check(ctx, loginIPKey(ip), s.Limits.LoginFailuresPerIP, s.Limits.LoginWindow, now)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return core.RateLimited(d.RetryAfter)
		}
	}
	d, err := s.Limiter.Check(ctx, loginFailKey(ident), s.Limits.LoginFailuresPerAccount, s.Limits.LoginWindow, now)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return core.RateLimited(d.RetryAfter)
	}
	wait, err := s.KV.TTL(ctx, loginWaitKey(ident))
	if err != nil {
		return err
	}
	if wait > 0 {
		return core.RateLimited(wait)
	}
	return nil
}

// loginFailed counts a failure; from the LoginDelayAfter-th on, the next try
// must wait, twice as long after each further failure.
func (s *Service) loginFailed(ctx context.Context, ident string) error {
	now := s.Clock.Now()
	if ip := core.ClientFrom(ctx).LimitKey(); ip != "" {
		if _, err := s.Limiter.Hit(ctx, loginIPKey(ip), s.Limits.LoginFailuresPerIP, s.Limits.LoginWindow, now); err != nil {
			return err
		}
	}
	d, err := s.Limiter.Hit(ctx, loginFailKey(ident), s.Limits.LoginFailuresPerAccount, s.Limits.LoginWindow, now)
	if err != nil {
		return err
	}
	if d.Count >= s.Limits.LoginDelayAfter {
		wait := s.Limits.LoginDelayBase << min(d.Count-s.Limits.LoginDelayAfter, 20)
		if wait > s.Limits.LoginDelayMax {
			wait = s.Limits.LoginDelayMax
		}
		if _, err := s.KV.SetNX(ctx, loginWaitKey(ident), "1", wait); err != nil {
			return err
		}
	}
	return nil
}

// loginSucceeded clears the identifier's failures.
func (s *Service) loginSucceeded(ctx context.Context, ident string) error {
	if err := s.Limiter.Reset(ctx, loginFailKey(ident)); err != nil {
		return err
	}
	return s.KV.Del(ctx, loginWaitKey(ident))
}

// signupGate limits signups per client IP: signup is the one place that
// tells whether a phone has an account.
func (s *Service) signupGate(ctx context.Context) error {
	ip := core.ClientFrom(ctx).LimitKey()
	if ip == "" {
		return nil
	}
	d, err := s.Limiter.Hit(ctx, "signup:ip:"+ip, s.Limits.SignupsPerIPPerHour, time.Hour, s.Clock.Now())
	if err != nil {
		return err
	}
	if !d.Allowed {
		return core.RateLimited(d.RetryAfter)
	}
	return nil
}
