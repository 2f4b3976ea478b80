package session

import (
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestRequireRecentAuth(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	cases := []struct {
		name      string
		amr       []string
		age       time.Duration
		twoFactor bool
		ok        bool
	}{
		{"fresh push", []string{"pwd", "push"}, 0, true, true},
		{"sms at the limit", []string{"pwd", "sms"}, 300 * time.Second, true, true},
		{"otp", []string{"pwd", "otp"}, time.Minute, true, true},
		{"too old", []string{"pwd", "push"}, 301 * time.Second, true, false},
		{"password only with two-factor on", []string{"pwd"}, 0, true, false},
		{"password only with two-factor off", []string{"pwd"}, 0, false, true},
		{"too old with two-factor off", []string{"pwd"}, time.Hour, false, false},
		{"no amr", nil, 0, true, false},
		{"passkey bound to hardware", []string{"hwk", "user", "mfa"}, time.Minute, true, true},
		{"synced passkey", []string{"swk", "user", "mfa"}, 0, true, true},
		{"passkey too old", []string{"hwk", "user", "mfa"}, 301 * time.Second, true, false},
		// Passwordless: an SMS code alone is what a SIM swap gets, so it
		// makes no risky change, whatever two-factor says; a push alone is
		// the device's signature.
		{"passwordless sms, two-factor on", []string{"sms"}, 0, true, false},
		{"passwordless sms, two-factor off", []string{"sms"}, 0, false, false},
		{"passwordless push", []string{"push"}, 0, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims := &Claims{AMR: c.amr, AuthTime: now.Add(-c.age)}
			err := f.svc.RequireRecentAuth(claims, c.twoFactor)
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok {
				wantCode(t, err, core.EReauthRequired)
			}
		})
	}
}
