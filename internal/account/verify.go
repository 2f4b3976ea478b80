package account

import (
	"context"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
)

// VerifyPhone completes a verification with the code texted to the phone.
// Each code takes one of the verification's MaxCodeAttempts before it is
// compared, so no burst of guesses gets more comparisons; the 5th wrong
// code kills the verification (423 from then on).
func (s *Service) VerifyPhone(ctx context.Context, verificationID, code string) (*core.User, error) {
	v, err := s.pendingVerification(ctx, verificationID)
	if err != nil {
		return nil, err
	}
	attempts, err := s.Users.ReserveVerificationAttempt(ctx, v.ID, s.Clock.Now())
	if core.IsCode(err, core.ELocked) {
		return nil, errTooManyCodes
	}
	if err != nil {
		return nil, err
	}
	if !s.Codes.Equal(v.CodeHash, v.ID, code) {
		if attempts >= core.MaxCodeAttempts {
			if err := s.Users.LockVerification(ctx, v.ID); err != nil {
				return nil, err
			}
			s.Log.InfoContext(ctx, "verification locked", "verification_id", v.ID)
			return nil, errTooManyCodes
		}
		return nil, core.WrongCode(core.MaxCodeAttempts - attempts)
	}
	u, err := s.Users.CompleteVerification(ctx, v.ID, s.Clock.Now())
	if core.IsCode(err, core.ELocked) {
		return nil, errTooManyCodes
	}
	if err != nil {
		return nil, err
	}
	_ = s.KV.Del(ctx, resendKey(v.ID))
	s.Log.InfoContext(ctx, "phone verified", "user_id", u.ID)
	s.Texts.Notify(ctx, u.Phone, "your account was created.")
	return u, nil
}

var errTooManyCodes = core.Errorf(core.ELocked, "too many wrong codes; sign up again")

// ResendCode texts a new code for a pending verification. The new code
// replaces the old one; the count of wrong attempts is kept, and so is the
// expiry set at signup: resends never keep a verification alive longer.
func (s *Service) ResendCode(ctx context.Context, verificationID string) error {
	v, err := s.pendingVerification(ctx, verificationID)
	if err != nil {
		return err
	}
	ok, err := s.KV.SetNX(ctx, resendKey(v.ID), "1", core.ResendCooldown)
	if err != nil {
		return err
	}
	if !ok {
		wait, err := s.KV.TTL(ctx, resendKey(v.ID))
		if err != nil {
			return err
		}
		return core.RateLimited(wait)
	}
	code := otp.NewCode()
	now := s.Clock.Now()
	if err := s.Users.ReplaceVerificationCode(ctx, v.ID, s.Codes.Hash(v.ID, code), now); err != nil {
		return err
	}
	return s.Texts.SendCode(ctx, core.CodeText{Kind: core.SMSSignupResend, UserID: v.UserID, Phone: v.Phone, Code: code, TTL: v.ExpiresAt.Sub(now)})
}

// pendingVerification loads a verification that can still take a code.
func (s *Service) pendingVerification(ctx context.Context, id string) (*core.Verification, error) {
	if !core.HasPrefix(id, core.PrefixVerification) {
		return nil, core.Errorf(core.ENotFound, "no such verification")
	}
	v, err := s.Users.Verification(ctx, id)
	if err != nil {
		return nil, err
	}
	switch v.Status {
	case core.VerificationLocked:
		return nil, errTooManyCodes
	case core.VerificationPending:
		if !s.Clock.Now().Before(v.ExpiresAt) {
			return nil, core.Errorf(core.EExpired, "the code has expired; sign up again")
		}
		return v, nil
	default: // verified (a code works once) or superseded by a newer signup
		return nil, core.Errorf(core.EExpired, "this verification is no longer valid")
	}
}
