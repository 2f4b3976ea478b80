package account

import (
	"context"
	"strings"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/phone"
)

// LoginInput identifies the user by phone or by email, never both.
type LoginInput struct {
	Phone       string
	CountryCode string
	Email       string
	Password    string
}

var errInvalidCredentials = core.Errorf(core.EInvalidCreds, "the phone, email or password is not correct")

// CheckPassword proves the first factor. Unknown user, unverified phone and
// wrong password give the same error after the same work (one Argon2id
// verification), so the answer reveals nothing about which it was. A hash
// with outdated parameters is replaced on success.
func (s *Service) CheckPassword(ctx context.Context, in LoginInput) (*core.User, error) {
	if len(in.Password) > 4*MaxPasswordLen { // bytes; no account can have one this long
		in.Password = in.Password[:4*MaxPasswordLen]
	}
	ident, err := loginIdentifier(in)
	if err != nil {
		return nil, err
	}
	at, err := s.reserveLogin(ctx, ident)
	if err != nil {
		return nil, err
	}
	u, rehash, err := s.verifyPassword(ctx, ident, in.Password)
	switch {
	case err != nil:
		s.giveBack(ctx, at)
		return nil, err
	case u == nil:
		return nil, s.refuseLogin(ctx, at)
	}
	if err := s.loginSucceeded(ctx, at); err != nil {
		return nil, err
	}
	if rehash {
		s.upgradeHash(ctx, u.ID, in.Password)
	}
	return u, nil
}

// loginIdentifier is the normalized identifier of a login: "phone:" and
// the E.164 number, or "email:" and the lower-cased address.
func loginIdentifier(in LoginInput) (string, error) {
	if (in.Phone == "") == (in.Email == "") {
		return "", core.Errorf(core.EInvalidRequest, "give either phone or email")
	}
	if in.Phone != "" {
		e164, err := phone.Normalize(in.Phone, in.CountryCode)
		if err != nil {
			return "", err
		}
		return "phone:" + e164, nil
	}
	return "email:" + strings.ToLower(strings.TrimSpace(in.Email)), nil
}

// verifyPassword returns the user of ident when password is theirs and
// their phone is verified, else nil. Every outcome costs one verification:
// an unknown identifier is checked against a dummy hash.
func (s *Service) verifyPassword(ctx context.Context, ident, password string) (u *core.User, rehash bool, err error) {
	u, err = s.findForLogin(ctx, ident)
	if err != nil {
		return nil, false, err
	}
	if u == nil {
		return nil, false, s.Hasher.Dummy(ctx, password)
	}
	ok, rehash, err := s.Hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return nil, false, err
	}
	if !u.PhoneVerified {
		return nil, false, nil
	}
	if !ok {
		s.LoginAudit.Record(ctx, u.ID, core.EventLoginFailed, "wrong password")
		return nil, false, nil
	}
	return u, rehash, nil
}

// findForLogin returns the user of ident, or nil when there is none.
func (s *Service) findForLogin(ctx context.Context, ident string) (*core.User, error) {
	var (
		u   *core.User
		err error
	)
	if e164, ok := strings.CutPrefix(ident, "phone:"); ok {
		u, err = s.Users.UserByPhone(ctx, e164)
	} else {
		u, err = s.Users.UserByEmail(ctx, strings.TrimPrefix(ident, "email:"))
	}
	if core.IsCode(err, core.ENotFound) {
		return nil, nil
	}
	return u, err
}

// refuseLogin counts the failure and gives the one answer every failed
// password login gets.
func (s *Service) refuseLogin(ctx context.Context, at *loginAttempt) error {
	if err := s.loginFailed(ctx, at); err != nil {
		return err
	}
	return errInvalidCredentials
}

// upgradeHash re-hashes with the current parameters; a failure only delays
// the upgrade to the next login.
func (s *Service) upgradeHash(ctx context.Context, userID, password string) {
	h, err := s.Hasher.Hash(ctx, password)
	if err == nil {
		err = s.Users.SetPasswordHash(ctx, userID, h, s.Clock.Now())
	}
	if err != nil {
		s.Log.WarnContext(ctx, "password re-hash failed", "user_id", userID, "err", err)
	}
}
