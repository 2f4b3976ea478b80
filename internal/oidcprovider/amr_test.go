package oidcprovider

import (
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestAMRAndACR(t *testing.T) {
	for _, tc := range []struct {
		name    string
		methods []string
		amr     []string
		acr     string
	}{
		{"password and push", []string{"pwd", core.MethodPush}, []string{"pwd", "swk", "mfa"}, ACRTwoFactor},
		{"password alone", []string{"pwd"}, []string{"pwd"}, ACRPassword},
		{"passwordless push", []string{"push"}, []string{"swk"}, ACRPasswordless},
		{"passwordless sms", []string{"sms"}, []string{"sms"}, ACRPasswordless},
		{"password and sms", []string{"pwd", core.MethodSMS}, []string{"pwd", "sms", "mfa"}, ACRTwoFactor},
		{"password and otp", []string{"pwd", core.MethodOTP}, []string{"pwd", "otp", "mfa"}, ACRTwoFactor},
		{"order kept", []string{core.MethodOTP, "pwd"}, []string{"otp", "pwd", "mfa"}, ACRTwoFactor},
		{"three factors", []string{"pwd", core.MethodSMS, core.MethodPush}, []string{"pwd", "sms", "swk", "mfa"}, ACRTwoFactor},
		{"unknown dropped", []string{"pwd", "face", "mfa", "swk", ""}, []string{"pwd"}, ACRPassword},
		{"only unknown", []string{"hwk"}, []string{}, ACRPassword},
		{"duplicates", []string{"pwd", "pwd"}, []string{"pwd"}, ACRPassword},
		{"duplicate second factor", []string{"pwd", core.MethodPush, core.MethodPush}, []string{"pwd", "swk", "mfa"}, ACRTwoFactor},
		{"none", nil, []string{}, ACRPassword},
		{"passkey bound to hardware", []string{"hwk", "user", "mfa"}, []string{"hwk", "user", "mfa"}, ACRTwoFactor},
		{"synced passkey", []string{"swk", "user", "mfa"}, []string{"swk", "user", "mfa"}, ACRTwoFactor},
		{"not a passkey's set", []string{"hwk", "mfa"}, []string{}, ACRPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.methods)
			if got := amrOf(tc.methods); !slices.Equal(got, tc.amr) || got == nil {
				t.Errorf("amrOf(%q) = %#v, want %q", tc.methods, got, tc.amr)
			}
			// acr agrees with amr: two factors exactly when amr says "mfa".
			if got := acrOf(tc.methods); got != tc.acr {
				t.Errorf("acrOf(%q) = %q, want %q", tc.methods, got, tc.acr)
			}
			if !slices.Equal(in, tc.methods) {
				t.Errorf("the methods were changed: %q", tc.methods)
			}
		})
	}
}

// A request carries the claims of its login, and none before it.
func TestAuthRequestClaimsOfItsLogin(t *testing.T) {
	r := &authRequest{ID: "r", ClientID: "clt_wiki"}
	if r.Done() || r.GetSubject() != "" || r.GetAMR() != nil || r.GetACR() != "" || !r.GetAuthTime().IsZero() {
		t.Fatalf("claims before the login: %q %q %q %v", r.GetSubject(), r.GetAMR(), r.GetACR(), r.GetAuthTime())
	}
	if !slices.Equal(r.GetAudience(), []string{"clt_wiki"}) {
		t.Fatalf("audience %q", r.GetAudience())
	}
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	r.Login = &completedLogin{UserID: "usr_a", AMR: []string{"pwd", core.MethodPush}, AuthTime: at, SessionID: "ses_a"}
	if !r.Done() || r.GetSubject() != "usr_a" || !slices.Equal(r.GetAMR(), []string{"pwd", "swk", "mfa"}) ||
		r.GetACR() != ACRTwoFactor || !r.GetAuthTime().Equal(at) {
		t.Fatalf("claims after the login: %q %q %q %v", r.GetSubject(), r.GetAMR(), r.GetACR(), r.GetAuthTime())
	}
}
