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

	// Passwordless starts (logins without a password), counted whether
	// anybody was asked or not, on top of the approval's push limits.
	PasswordlessPerIdentifier int           // per phone/email in PasswordlessWindow (5)
	PasswordlessPerIP         int           // per client IP in PasswordlessWindow (30)
	PasswordlessWindow        time.Duration // 15 min
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		LoginFailuresPerAccount: 10, LoginDelayAfter: 5, LoginDelayBase: time.Second, LoginDelayMax: time.Minute,
		LoginFailuresPerIP: 100, LoginWindow: 15 * time.Minute, SignupsPerIPPerHour: 20,
		PasswordlessPerIdentifier: 5, PasswordlessPerIP: 30, PasswordlessWindow: 15 * time.Minute,
	}
}

// The limits count per identifier (the normalized phone or email), not per
// account: unknown identifiers are counted the same way, so a 429 says
// nothing about whether an account exists, and a locked account answers the
// same whatever password is given.
func loginFailKey(ident string) string { return "loginfail:id:" + ident }
func loginWaitKey(ident string) string { return "loginwait:" + ident }
func loginIPKey(ip string) string      { return "loginfail:ip:" + ip }

// loginAttempt is one password attempt's places in the failure limits,
// taken before any hashing: counted first and given back when the attempt
// did not fail, so a burst sent at once gets no more passwords verified than
// the limits allow one after another.
type loginAttempt struct {
	ident      string
	ipKey      string // "" when the client address is unknown
	ipToken    string
	identToken string
	failures   int // the identifier's failures in the window, this one included
}

// reserveLogin takes an attempt's places in the per-IP and per-identifier
// limits, or refuses it (429) when a limit or the growing delay forbids it.
func (s *Service) reserveLogin(ctx context.Context, ident string) (*loginAttempt, error) {
	wait, err := s.KV.TTL(ctx, loginWaitKey(ident))
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, core.RateLimited(wait)
	}
	now := s.Clock.Now()
	at := &loginAttempt{ident: ident}
	if ip := core.ClientFrom(ctx).LimitKey(); ip != "" {
		at.ipKey = loginIPKey(ip)
		d, token, err := s.Limiter.Reserve(ctx, at.ipKey, s.Limits.LoginFailuresPerIP, s.Limits.LoginWindow, now)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, core.RateLimited(d.RetryAfter)
		}
		at.ipToken = token
	}
	d, token, err := s.Limiter.Reserve(ctx, loginFailKey(ident), s.Limits.LoginFailuresPerAccount, s.Limits.LoginWindow, now)
	if err == nil && !d.Allowed {
		err = core.RateLimited(d.RetryAfter)
	}
	if err != nil {
		s.giveBack(ctx, at)
		return nil, err
	}
	at.identToken, at.failures = token, d.Count
	return at, nil
}

// giveBack returns an attempt's places: it reached no verdict (the database
// or the hasher failed), so it must not count as a failure.
func (s *Service) giveBack(ctx context.Context, at *loginAttempt) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if at.ipKey != "" {
		if err := s.Limiter.Release(ctx, at.ipKey, at.ipToken); err != nil {
			s.Log.WarnContext(ctx, "login attempt not given back", "limit", "ip", "err", err)
		}
	}
	if at.identToken != "" {
		if err := s.Limiter.Release(ctx, loginFailKey(at.ident), at.identToken); err != nil {
			s.Log.WarnContext(ctx, "login attempt not given back", "limit", "account", "err", err)
		}
	}
}

// loginFailed keeps the attempt's places as its failure; from the
// LoginDelayAfter-th failure on, the next try must wait, twice as long after
// each further one.
func (s *Service) loginFailed(ctx context.Context, at *loginAttempt) error {
	if at.failures < s.Limits.LoginDelayAfter {
		return nil
	}
	wait := min(s.Limits.LoginDelayBase<<min(at.failures-s.Limits.LoginDelayAfter, 20), s.Limits.LoginDelayMax)
	_, err := s.KV.SetNX(ctx, loginWaitKey(at.ident), "1", wait)
	return err
}

// loginSucceeded gives the IP's place back and clears the identifier's
// failures.
func (s *Service) loginSucceeded(ctx context.Context, at *loginAttempt) error {
	if at.ipKey != "" {
		if err := s.Limiter.Release(ctx, at.ipKey, at.ipToken); err != nil {
			return err
		}
	}
	if err := s.Limiter.Reset(ctx, loginFailKey(at.ident)); err != nil {
		return err
	}
	return s.KV.Del(ctx, loginWaitKey(at.ident))
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
