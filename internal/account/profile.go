package account

import (
	"context"

	"github.com/approvald/approvald/internal/core"
)

// Profile is what GET /api/v1/me shows.
type Profile struct {
	User    *core.User
	Devices int
}

// Profile reads the user and the number of their devices.
func (s *Service) Profile(ctx context.Context, userID string) (*Profile, error) {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	n, err := s.Devices.CountDevices(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &Profile{User: u, Devices: n}, nil
}

// SetTwoFactor turns the second factor on or off and tells the user by SMS.
// The caller has checked that turning it off follows a fresh login.
func (s *Service) SetTwoFactor(ctx context.Context, userID string, on bool) (*Profile, error) {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.TwoFactor != on {
		if err := s.Users.SetTwoFactor(ctx, userID, on, s.Clock.Now()); err != nil {
			return nil, err
		}
		state := "off"
		if on {
			state = "on"
		}
		s.Log.InfoContext(ctx, "two-factor changed", "user_id", userID, "two_factor", on)
		s.Audit.Record(ctx, userID, core.EventTwoFactor, "two-step login turned "+state)
		s.Texts.Notify(ctx, u.Phone, "two-step login was turned "+state+" for your account.")
	}
	return s.Profile(ctx, userID)
}

// ChangePassword replaces the password after checking the current one. The
// current password is a guess like a login's: it takes its place in the
// same failure limits (the account's phone, the client) before it is
// checked, and a wrong one is recorded as a failed login. The caller
// revokes the user's other sessions.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next string) error {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	at, err := s.reserveLogin(ctx, "phone:"+u.Phone)
	if err != nil {
		return err
	}
	ok, _, err := s.Hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		s.giveBack(ctx, at)
		return err
	}
	if !ok {
		s.LoginAudit.Record(ctx, userID, core.EventLoginFailed, "wrong current password")
		if err := s.loginFailed(ctx, at); err != nil {
			return err
		}
		return &core.Error{Code: core.EInvalidCreds, Field: "current_password", Message: "the current password is not correct"}
	}
	if err := s.loginSucceeded(ctx, at); err != nil {
		return err
	}
	if err := checkPassword("new_password", next); err != nil {
		return err
	}
	h, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.Users.SetPasswordHash(ctx, userID, h, s.Clock.Now()); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "password changed", "user_id", userID)
	s.Audit.Record(ctx, userID, core.EventPasswordChange, "")
	s.Texts.Notify(ctx, u.Phone, "your password was changed.")
	return nil
}
