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

// The code texted at signup works until CODE_TTL has passed, not at it:
// the expired account stays unverified and cannot log in, and signing up
// again starts over.
func TestVerificationExpiresAfterCodeTTL(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		ctx := context.Background()
		inTime, late := testenv.RandomPhone(), testenv.RandomPhone()
		first, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: inTime, Password: "long enough"})
		mustOK(t, err)
		second, err := svc.Signup(ctx, account.SignupInput{Name: "Bo", Phone: late, Password: "long enough"})
		mustOK(t, err)
		if first.ExpiresIn != int(svc.CodeTTL.Seconds()) {
			t.Fatalf("expires in %d s; want CODE_TTL, %v", first.ExpiresIn, svc.CodeTTL)
		}

		f.clock.Advance(svc.CodeTTL - time.Second)
		_, err = svc.VerifyPhone(ctx, first.VerificationID, f.sms.lastCode(t, inTime))
		mustOK(t, err)
		f.clock.Advance(time.Second)
		_, err = svc.VerifyPhone(ctx, second.VerificationID, f.sms.lastCode(t, late))
		wantCode(t, err, core.EExpired)
		_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: late, Password: "long enough"})
		wantCode(t, err, core.EInvalidCreds)

		again, err := svc.Signup(ctx, account.SignupInput{Name: "Bo", Phone: late, Password: "long enough"})
		mustOK(t, err)
		_, err = svc.VerifyPhone(ctx, again.VerificationID, f.sms.lastCode(t, late))
		mustOK(t, err)
	})
}

// A code verifies once: the user is texted that the account exists, and
// the verification then answers expired, to its code and to a resend,
// without texting again. An unknown verification is not found.
func TestVerificationWorksOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		ctx := context.Background()
		p := testenv.RandomPhone()
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
		mustOK(t, err)
		code := f.sms.lastCode(t, p)
		u, err := svc.VerifyPhone(ctx, res.VerificationID, code)
		mustOK(t, err)
		if u.ID != res.UserID || !u.PhoneVerified {
			t.Fatalf("verified %+v; want %s with its phone verified", u, res.UserID)
		}
		if got := f.sms.noticesTo(p); len(got) != 1 || got[0] != "your account was created." {
			t.Fatalf("notices %q; want the account's creation", got)
		}

		sent := f.sms.total()
		_, err = svc.VerifyPhone(ctx, res.VerificationID, code)
		wantCode(t, err, core.EExpired)
		f.clock.Advance(core.ResendCooldown)
		wantCode(t, svc.ResendCode(ctx, res.VerificationID), core.EExpired)
		if n := f.sms.total() - sent; n != 0 {
			t.Fatalf("a spent verification texted %d messages", n)
		}

		for _, id := range []string{"nonsense", core.NewID(core.PrefixVerification), res.UserID} {
			_, err = svc.VerifyPhone(ctx, id, code)
			wantCode(t, err, core.ENotFound)
			wantCode(t, svc.ResendCode(ctx, id), core.ENotFound)
		}
	})
}

// Each wrong code says how many are left; the fifth locks the
// verification, whose right code is then refused too; signing up again
// starts over.
func TestWrongCodesCountDown(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		ctx := context.Background()
		p := testenv.RandomPhone()
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
		mustOK(t, err)
		code := f.sms.lastCode(t, p)
		wrong := wrongCode(code)
		for left := core.MaxCodeAttempts - 1; left > 0; left-- {
			_, err := svc.VerifyPhone(ctx, res.VerificationID, wrong)
			wantCode(t, err, core.EInvalidCode)
			if e := err.(*core.Error); e.AttemptsLeft == nil || *e.AttemptsLeft != left {
				t.Fatalf("attempts left %v; want %d", e.AttemptsLeft, left)
			}
		}
		_, err = svc.VerifyPhone(ctx, res.VerificationID, wrong)
		wantCode(t, err, core.ELocked)
		_, err = svc.VerifyPhone(ctx, res.VerificationID, code)
		wantCode(t, err, core.ELocked)
		f.clock.Advance(core.ResendCooldown)
		wantCode(t, svc.ResendCode(ctx, res.VerificationID), core.ELocked)

		again, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
		mustOK(t, err)
		_, err = svc.VerifyPhone(ctx, again.VerificationID, f.sms.lastCode(t, p))
		mustOK(t, err)
	})
}

// wrongCode is a code that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}
