package otp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// TOTP parameters (RFC 6238 defaults, the ones every authenticator app
// assumes when an otpauth URI names none): HMAC-SHA-1, 6 digits, 30 s.
const (
	TOTPPeriod     = 30 * time.Second
	TOTPSecretSize = 20
)

// secretEncoding is base32 without padding, the form authenticator apps
// take in otpauth://totp/…?secret=.
var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns 20 random bytes (160 bits, as RFC 4226 recommends).
func NewTOTPSecret() []byte {
	return core.RandomBytes(TOTPSecretSize)
}

// EncodeSecret returns secret in unpadded base32.
func EncodeSecret(secret []byte) string {
	return secretEncoding.EncodeToString(secret)
}

// DecodeSecret reads a base32 secret as users and apps write it: any case,
// with or without padding, spaces or dashes.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(s))
	secret, err := secretEncoding.DecodeString(s)
	if err != nil || len(secret) == 0 {
		return nil, errors.New("otp: secret is not base32")
	}
	return secret, nil
}

// TOTPStep returns the RFC 6238 time step of t: floor(unix seconds / 30).
func TOTPStep(t time.Time) int64 {
	period := int64(TOTPPeriod / time.Second)
	s := t.Unix()
	if s < 0 { // floor, not truncation, before 1970
		return (s - period + 1) / period
	}
	return s / period
}

// TOTPCode returns the 6-digit code of secret at t.
func TOTPCode(secret []byte, t time.Time) string {
	return hotp(secret, uint64(TOTPStep(t)))
}

// MatchTOTP reports whether code is secret's code for the step of now or the
// one before or after it (clock drift, a code typed at the edge of its
// period), and returns the step it matched. The caller stores that step and
// refuses it and older ones afterwards, so a code cannot be replayed.
func MatchTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	if !isCode(code) {
		return 0, false
	}
	current := TOTPStep(now)
	matched := int64(0)
	found := 0
	// Compute all three without stopping early, so timing says nothing about
	// which step matched.
	for _, s := range []int64{current - 1, current, current + 1} {
		eq := subtle.ConstantTimeCompare([]byte(hotp(secret, uint64(s))), []byte(code))
		if eq == 1 && found == 0 {
			matched, found = s, 1
		}
	}
	return matched, found == 1
}

// hotp is RFC 4226 HOTP with HMAC-SHA-1 and dynamic truncation to 6 digits.
func hotp(secret []byte, counter uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", bin%1_000_000)
}

func isCode(s string) bool {
	if len(s) != CodeDigits {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
