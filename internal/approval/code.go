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
	if a.Passwordless == core.PasswordlessPush {
		return errDeviceOnly
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
		change, err := FallBack(a, now, reason, s.Config.CodeTTL)
		if err != nil {
			return err
		}
		if err := s.apply(ctx, a, now, change); err != nil {
			return err
		}
		s.Log.InfoContext(ctx, "approval fell back to sms", "approval_id", id, "reason", reason)
		s.publish(ctx, id, fallbackFrame(reason))
		s.announceToDevices(ctx, now, a) // its new expires_at
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

// lateTextBudget bounds texting a code after the answer.
const lateTextBudget = 15 * time.Second

// sendCode stores a new code's hash, then texts it as a message of kind.
func (s *Service) sendCode(ctx context.Context, a *core.Approval, phone string, now time.Time, kind string) error {
	code := otp.NewCode()
	change, err := SetCode(a, now, s.Codes.Hash(a.ID, code))
	if err != nil {
		return err
	}
	if err := s.apply(ctx, a, now, change); err != nil {
		return err
	}
	if _, err := s.KV.SetNX(ctx, smsCooldownKey(a.ID), "1", s.Config.SMSCooldown); err != nil {
		return err
	}
	if a.UserID == core.PlaceholderUserID {
		return nil // nobody to text: the code is never sent
	}
	text := core.CodeText{Kind: kind, UserID: a.UserID, Phone: phone, Code: code, TTL: s.Config.CodeTTL}
	if a.Passwordless != "" {
		// A passwordless login's new code goes out after the answer, as
		// its first did: neither the SMS provider's latency nor its
		// refusals may tell a user's login from a placeholder.
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateTextBudget)
			defer cancel()
			if err := s.Texts.SendCode(ctx, text); err != nil {
				s.Log.WarnContext(ctx, "passwordless code not sent", "approval_id", a.ID, "err", err)
			}
		}()
		return nil
	}
	return s.Texts.SendCode(ctx, text)
}

// VerifyCode decides an approval with an SMS code or a TOTP code of one of
// the user's devices. Before a code is compared it takes one of the user's
// wrong codes for the hour (WrongCodesPerHour, across approvals; 429 when
// none is left) and one of the approval's MaxCodeAttempts, so no burst of
// guesses gets more comparisons than either allows; a right code gives the
// first back. The 5th wrong code denies the approval (423), and no code is
// compared after that.
//
// The user's count lives in the limiter (Redis): while it cannot be
// reached, no code is compared (503). Counting there being impossible,
// comparing anyway would let guesses past the hourly limit, on every
// approval still pending; logins cannot start then either.
func (s *Service) VerifyCode(ctx context.Context, a *core.Approval, code string) error {
	now := s.Clock.Now()
	if err := CheckPending(a, now); err != nil {
		return err
	}
	if a.Passwordless == core.PasswordlessPush {
		return errDeviceOnly
	}
	if !isSixDigits(code) {
		return core.FieldError(core.EInvalidRequest, "code", "code must be 6 digits")
	}
	d, token, err := s.Limiter.Reserve(ctx, codesKey(a), s.Config.WrongCodesPerHour, time.Hour, now)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return core.RateLimited(d.RetryAfter)
	}
	attempts, err := s.reserveAttempt(ctx, a, now)
	if err != nil {
		s.giveBack(ctx, a, token)
		return err
	}
	method, by, err := s.matchCode(ctx, a, code, now)
	if err != nil {
		return err // it may have been compared: both counts keep it
	}
	if method != "" {
		s.giveBack(ctx, a, token) // only wrong codes count
		return s.decideBy(ctx, a, now, Outcome{Approve: true, Method: method, By: by}, s.approveWithCode)
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

// reserveAttempt takes one of a's MaxCodeAttempts before a code is
// compared; when none is taken, the approval as stored says why: expired,
// decided, or every attempt taken (the last may still be being compared).
func (s *Service) reserveAttempt(ctx context.Context, a *core.Approval, now time.Time) (int, error) {
	attempts, reserved, err := s.Approvals.ReserveApprovalAttempt(ctx, a.ID, now)
	if err != nil || reserved {
		return attempts, err
	}
	return 0, s.whyNotOpen(ctx, a.ID, now, errTooManyCodes)
}

// giveBack releases a reserved wrong code of the user's hourly count: the
// code was not compared, or was right. Should that fail, the user is
// charged one wrong code too many, which the caller need not hear of.
func (s *Service) giveBack(ctx context.Context, a *core.Approval, token string) {
	if err := s.Limiter.Release(ctx, codesKey(a), token); err != nil {
		s.Log.WarnContext(ctx, "a reserved wrong code could not be given back", "user_id", a.UserID, "err", err)
	}
}

// matchCode returns how the code matched ("" when it did not).
func (s *Service) matchCode(ctx context.Context, a *core.Approval, code string, now time.Time) (method, by string, err error) {
	if a.CodeHash != "" && a.CodeSentAt != nil && now.Before(a.CodeSentAt.Add(s.Config.CodeTTL)) &&
		s.Codes.Equal(a.CodeHash, a.ID, code) {
		return core.MethodSMS, "", nil
	}
	if a.Passwordless != "" {
		return "", "", nil // a passwordless SMS login takes its texted code only
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
