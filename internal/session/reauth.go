package session

import (
	"slices"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// MaxAuthAge is how recent the last proof of a factor must be for a risky
// change (turning two-factor off, devices, password).
const MaxAuthAge = 300 * time.Second

// secondFactors are the amr values that prove a second factor; a passkey
// login (hwk or swk) is a complete multi-factor login.
var secondFactors = []string{core.MethodPush, core.MethodSMS, core.MethodOTP, core.AMRHardwareKey, core.AMRSoftwareKey}

// RequireRecentAuth allows a risky change when auth_time is at most
// MaxAuthAge old and, with two-factor on, amr holds a second factor;
// otherwise the user must log in again (EReauthRequired).
func (svc *Service) RequireRecentAuth(claims *Claims, twoFactorOn bool) error {
	if claims == nil || svc.clock.Now().Sub(claims.AuthTime) > MaxAuthAge {
		return core.Errorf(core.EReauthRequired, "please log in again to make this change")
	}
	// A login by an SMS code alone (passwordless SMS) proves only that
	// someone holds the phone number, which a SIM swap takes: it may not
	// add a device or a passkey, or change the password, on its own.
	if !slices.Contains(claims.AMR, "pwd") && !slices.ContainsFunc(claims.AMR, func(m string) bool {
		return m != core.MethodSMS
	}) {
		return core.Errorf(core.EReauthRequired, "please log in with your password to make this change")
	}
	if twoFactorOn && !slices.ContainsFunc(claims.AMR, func(m string) bool { return slices.Contains(secondFactors, m) }) {
		return core.Errorf(core.EReauthRequired, "please log in again with your second factor to make this change")
	}
	return nil
}
