package account

import (
	"context"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/phone"
)

// SignupInput is what a person submits to create an account.
type SignupInput struct {
	Name        string
	Email       string
	Phone       string
	CountryCode string
	Password    string
}

// SignupResult names the new account and the verification to complete.
type SignupResult struct {
	UserID         string
	VerificationID string
	ExpiresIn      int // seconds
}

// Signup creates an unverified account and texts a code to its phone.
func (s *Service) Signup(ctx context.Context, in SignupInput) (*SignupResult, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return nil, core.FieldError(core.EInvalidRequest, "name", "name must be 1 to 100 characters")
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	e164, err := phone.Normalize(in.Phone, in.CountryCode)
	if err != nil {
		return nil, err
	}
	// Refused before the account exists: its only use would be texting
	// a number approvald will not text.
	if err := s.Texts.Textable(e164); err != nil {
		return nil, err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return nil, err
	}
	if err := s.signupGate(ctx); err != nil {
		return nil, err
	}
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}

	now := s.Clock.Now()
	u := &core.User{
		ID: core.NewID(core.PrefixUser), Name: name, Email: email, Phone: e164,
		PasswordHash: hash, TwoFactor: true, CreatedAt: now, UpdatedAt: now,
	}
	code := otp.NewCode()
	v := &core.Verification{
		ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: e164,
		Status: core.VerificationPending, ExpiresAt: now.Add(s.CodeTTL), LastSentAt: now, CreatedAt: now,
	}
	v.CodeHash = s.Codes.Hash(v.ID, code)
	if err := s.Users.CreateSignup(ctx, u, v); err != nil {
		return nil, err
	}
	if _, err := s.KV.SetNX(ctx, resendKey(v.ID), "1", core.ResendCooldown); err != nil {
		return nil, err
	}
	if err := s.Texts.SendCode(ctx, core.CodeText{Kind: core.SMSSignup, UserID: u.ID, Phone: e164, Code: code, TTL: s.CodeTTL}); err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "signup started", "user_id", u.ID, "verification_id", v.ID)
	return &SignupResult{UserID: u.ID, VerificationID: v.ID, ExpiresIn: int(s.CodeTTL.Seconds())}, nil
}

func resendKey(id string) string { return "cooldown:" + id }

func normalizeEmail(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	addr, err := mail.ParseAddress(raw)
	if err != nil || addr.Address != raw || len(raw) > 254 {
		return "", core.FieldError(core.EInvalidRequest, "email", "email must be an address like ada@example.com")
	}
	return strings.ToLower(raw), nil
}

func checkPassword(field, pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return core.FieldError(core.EWeakPassword, field, "password must be 8 to 256 characters")
	}
	return nil
}
