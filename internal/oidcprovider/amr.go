package oidcprovider

import (
	"slices"

	"github.com/approvald/approvald/internal/core"
)

// The acr values this provider asserts (OpenID Connect Core §2): two
// factors, a password alone for a user with two-factor sign-in off, or one
// factor that is not a password (a passwordless push or SMS code).
const (
	ACRTwoFactor    = "urn:approvald:acr:2fa"
	ACRPassword     = "urn:approvald:acr:pwd"
	ACRPasswordless = "urn:approvald:acr:passwordless"
)

// rfc8176 maps a session's methods to RFC 8176 values. A push is decided by
// a signature of the device's Ed25519 key, kept in software by the
// authenticator: proof of possession of a software-secured key, "swk".
var rfc8176 = map[string]string{
	"pwd":           "pwd",
	core.MethodSMS:  "sms",
	core.MethodOTP:  "otp",
	core.MethodPush: "swk",
}

// amrOf is the amr claim of a session's methods, with "mfa" when more than
// one factor was used.
func amrOf(methods []string) []string {
	if isPasskeyLogin(methods) {
		return slices.Clone(methods)
	}
	out := make([]string, 0, len(methods)+1)
	for _, m := range methods {
		if v, ok := rfc8176[m]; ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) > 1 {
		out = append(out, "mfa")
	}
	return out
}

// acrOf is the acr of a session's methods: two factors exactly when amrOf
// says "mfa" (two distinct known methods), so a duplicate or an unknown
// method never counts as a second factor; passwordless when the one known
// method is not a password (a passwordless login's session: "push" or
// "sms" alone, never claiming "pwd" or "mfa").
func acrOf(methods []string) string {
	amr := amrOf(methods)
	switch {
	case slices.Contains(amr, "mfa"):
		return ACRTwoFactor
	case len(amr) == 1 && amr[0] != "pwd":
		return ACRPasswordless
	}
	return ACRPassword
}

// isPasskeyLogin: a passkey login's methods are RFC 8176 values already, and
// only as the whole set the passkey service issues (hwk or swk, user, mfa).
func isPasskeyLogin(methods []string) bool {
	return len(methods) == 3 && (methods[0] == core.AMRHardwareKey || methods[0] == core.AMRSoftwareKey) &&
		methods[1] == core.AMRUser && methods[2] == core.AMRMFA
}
