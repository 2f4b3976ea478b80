package approval

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
)

// RequestSMS falls back to SMS at the browser's request (or re-sends the
// code), at most once per cooldown.
func (s *Service) RequestSMS(ctx context.Context, a *core.Approval) error {
	if err := CheckPending(a, s.Clock.Now()); err != nil {
		return err
	}
	return s.fallBack(ctx, a.ID, core.ReasonRequested, core.SMSLoginRequested)
}

// fallBack moves an approval to SMS (when it is not there yet), announces
// it, and sends a code of kind send unless send is "".
func (s *Service) fallBack(ctx context.Context, id, reason, send string) error {
	now := s.Clock.Now()
	a, err := s.Approvals.Approval(ctx, id)
	if err != nil {
		return err
	}
	if err := CheckPending(a, now); err != nil {
		return err
	}
	if send != "" {
		ok, err := s.KV.SetNX(ctx, smsCooldownKey(id), "1", s.Config.SMSCooldown)
		if err != nil {
			return err
		}
		if !ok {
			wait, err := s.KV.TTL(ctx, smsCooldownKey(id))
			if err != nil {
				return err
			}
			return core.RateLimited(wait)
		}
	}
	if a.Channel != core.ChannelSMS {
		fields, err := FallBack(a, now, reason, s.Config.CodeTTL)
		if err != nil {
			return err
		}
		if err := s.update(ctx, a, now, fields...); err != nil {
			return err
		}
		s.Log.InfoContext(ctx, "approval fell back to sms", "approval_id", id, "reason", reason)
		s.publish(ctx, id, fallbackFrame(reason))
	}
	if send == "" {
		return nil
	}
	u, err := s.Users.UserByID(ctx, a.UserID)
	if err != nil {
		return err
	}
	return s.sendCode(ctx, a, u.Phone, now, send)
}

// sendCode stores a new code's hash, then texts it as a message of kind.
func (s *Service) sendCode(ctx context.Context, a *core.Approval, phone string, now time.Time, kind string) error {
	code := otp.NewCode()
	fields, err := SetCode(a, now, s.Codes.Hash(a.ID, code))
	if err != nil {
		return err
	}
	if err := s.update(ctx, a, now, fields...); err != nil {
		return err
	}
	if _, err := s.KV.SetNX(ctx, smsCooldownKey(a.ID), "1", s.Config.SMSCooldown); err != nil {
		return err
	}
	return s.Texts.SendCode(ctx, core.CodeText{Kind: kind, UserID: a.UserID, Phone: phone, Code: code, TTL: s.Config.CodeTTL})
}

// VerifyCode decides an approval with an SMS code or a TOTP code of one of
// the user's devices. Each code takes one of the approval's MaxCodeAttempts
// before it is compared, so no burst of guesses gets more comparisons; the
// 5th wrong code denies it (423), and no code is compared after that.
func (s *Service) VerifyCode(ctx context.Context, a *core.Approval, code string) error {
	now := s.Clock.Now()
	if err := CheckPending(a, now); err != nil {
		return err
	}
	if !isSixDigits(code) {
		return core.FieldError(core.EInvalidRequest, "code", "code must be 6 digits")
	}
	attempts, err := s.Approvals.ReserveApprovalAttempt(ctx, a.ID, now)
	if err != nil {
		return err
	}
	method, by, err := s.matchCode(ctx, a, code, now)
	if err != nil {
		return err
	}
	if method != "" {
		return s.decideWith(ctx, s.Approvals.ApproveWithCode, a, now, Outcome{Approve: true, Method: method, By: by})
	}
	if _, err := s.Limiter.Hit(ctx, wrongCodesKey(a.UserID), s.Config.WrongCodesPerHour, time.Hour, now); err != nil {
		return err
	}
	s.Audit.Record(ctx, a.UserID, core.EventCodeFailed, "")
	if attempts >= core.MaxCodeAttempts {
		s.Audit.Record(ctx, a.UserID, core.EventLocked, "too many wrong codes for one login")
		err := s.decide(ctx, a, now, Outcome{Reason: core.ReasonTooManyAttempts})
		if err != nil && !core.IsCode(err, core.EAlreadyDecided) {
			return err
		}
		return core.Errorf(core.ELocked, "too many wrong codes; the login was denied")
	}
	return core.WrongCode(core.MaxCodeAttempts - attempts)
}

// matchCode returns how the code matched ("" when it did not).
func (s *Service) matchCode(ctx context.Context, a *core.Approval, code string, now time.Time) (method, by string, err error) {
	if a.CodeHash != "" && a.CodeSentAt != nil && now.Before(a.CodeSentAt.Add(s.Config.CodeTTL)) &&
		s.Codes.Equal(a.CodeHash, a.ID, code) {
		return core.MethodSMS, "", nil
	}
	devices, err := s.Devices.DevicesByUser(ctx, a.UserID)
	if err != nil {
		return "", "", err
	}
	for _, d := range devices {
		secret, err := s.Secrets.Open(d.TOTPSecretEnc, []byte(d.ID))
		if err != nil {
			s.Log.ErrorContext(ctx, "totp secret cannot be opened", "device_id", d.ID, "err", err)
			continue
		}
		step, ok := otp.MatchTOTP(secret, code, now)
		if !ok {
			continue
		}
		fresh, err := s.Devices.AcceptTOTPStep(ctx, d.ID, step, now)
		if err != nil {
			return "", "", err
		}
		if fresh {
			return core.MethodOTP, d.ID, nil
		}
	}
	return "", "", nil
}

func isSixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
