package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/testenv"
)

// A code is resent no sooner than the cooldown after the last one: before,
// 429 with the time left and nothing texted; after, a new code that
// replaces the old one, and the cooldown starts again. (The KV is the
// in-process one on both databases: the cooldown must follow the test's
// clock.)
func TestResendWaitsForTheCooldown(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, _ ephemeraltest.Kind) {
		f := newFixture()
		eph := ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, "")
		svc, _ := f.service(t, dialect, eph, nil)
		ctx := context.Background()
		p := testenv.RandomPhone()
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
		mustOK(t, err)
		first := f.sms.lastCode(t, p)
		if svc.ResendCooldown() != core.ResendCooldown {
			t.Fatalf("ResendCooldown() %v; want %v", svc.ResendCooldown(), core.ResendCooldown)
		}

		for _, waited := range []time.Duration{0, core.ResendCooldown - time.Second} {
			f.clock.Advance(waited)
			err := svc.ResendCode(ctx, res.VerificationID)
			wantCode(t, err, core.ERateLimited)
			if got, want := err.(*core.Error).RetryAfter, core.ResendCooldown-waited; got != want {
				t.Fatalf("%v after the signup: retry after %v; want %v", waited, got, want)
			}
		}
		if n := f.sms.count(p); n != 1 {
			t.Fatalf("%d codes texted during the cooldown; want the signup's only", n)
		}

		f.clock.Advance(time.Second)
		mustOK(t, svc.ResendCode(ctx, res.VerificationID))
		if n := f.sms.count(p); n != 2 {
			t.Fatalf("%d codes texted; want the signup's and the resend's", n)
		}
		err = svc.ResendCode(ctx, res.VerificationID)
		wantCode(t, err, core.ERateLimited)
		if got := err.(*core.Error).RetryAfter; got != core.ResendCooldown {
			t.Fatalf("right after a resend: retry after %v; want %v", got, core.ResendCooldown)
		}

		resent := f.sms.lastCode(t, p)
		if resent != first {
			_, err = svc.VerifyPhone(ctx, res.VerificationID, first)
			wantCode(t, err, core.EInvalidCode)
		}
		_, err = svc.VerifyPhone(ctx, res.VerificationID, resent)
		mustOK(t, err)
	})
}

// A resend does not give back the wrong codes already tried: four wrong
// codes, a resend, and one more wrong code lock the verification.
func TestResendKeepsTheWrongAttempts(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, _ ephemeraltest.Kind) {
		f := newFixture()
		eph := ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, "")
		svc, _ := f.service(t, dialect, eph, nil)
		ctx := context.Background()
		p := testenv.RandomPhone()
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
		mustOK(t, err)
		for range core.MaxCodeAttempts - 1 {
			_, err := svc.VerifyPhone(ctx, res.VerificationID, wrongCode(f.sms.lastCode(t, p)))
			wantCode(t, err, core.EInvalidCode)
		}
		f.clock.Advance(core.ResendCooldown)
		mustOK(t, svc.ResendCode(ctx, res.VerificationID))
		_, err = svc.VerifyPhone(ctx, res.VerificationID, wrongCode(f.sms.lastCode(t, p)))
		wantCode(t, err, core.ELocked)
	})
}
