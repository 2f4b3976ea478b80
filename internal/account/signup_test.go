package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/phone"
	"github.com/approvald/approvald/internal/testenv"
)

// The reproduced toll fraud: a US premium-rate number is refused at signup,
// before an account exists or anything is texted.
func TestSignupRefusesNumbersThatAreNotTexted(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture()
		eph := ephemeraltest.Open(t, kind, f.clock, "test:"+core.NewSecret(8)+":")
		onlyUS, err := phone.NewSMSPolicy([]string{"US"})
		mustOK(t, err)
		svc, db := f.service(t, dialect, eph, onlyUS)
		ctx := context.Background()
		for _, number := range []string{"+1 900 555 0123", "+18005550123", "+447400123456", "+881612345678"} {
			_, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: number, Password: "long enough"})
			wantCode(t, err, core.EInvalidPhone)
			if e := err.(*core.Error); e.Field != "phone" || e.Message == "" {
				t.Fatalf("%s: %+v, want a message on field phone", number, e)
			}
			e164, _ := phone.Normalize(number, "")
			if _, err := db.UserByPhone(ctx, e164); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("%s: an account was created (%v)", number, err)
			}
		}
		if f.sms.total() != 0 {
			t.Fatalf("%d messages sent", f.sms.total())
		}
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: testenv.RandomPhone(), Password: "long enough"})
		if err != nil || res.UserID == "" {
			t.Fatalf("a US number: %v", err)
		}
	})
}

// A resend replaces the code but not the expiry: the verification ends
// CODE_TTL after the signup, however late the resend. (The KV is the
// in-process one on both databases: its cooldown must follow the test's
// clock, which Redis's expiries do not.)
func TestResendDoesNotExtendTheVerification(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, _ ephemeraltest.Kind) {
		f := newFixture()
		eph := ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, "")
		svc, _ := f.service(t, dialect, eph, nil)
		ctx := context.Background()
		p := testenv.RandomPhone()
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
		mustOK(t, err)

		f.clock.Advance(svc.CodeTTL - time.Minute)
		mustOK(t, svc.ResendCode(ctx, res.VerificationID))
		if n := f.sms.count(p); n != 2 {
			t.Fatalf("%d messages, want the signup's and the resend's", n)
		}
		resent := f.sms.lastCode(t, p)

		f.clock.Advance(time.Minute)
		_, err = svc.VerifyPhone(ctx, res.VerificationID, resent)
		wantCode(t, err, core.EExpired)
		wantCode(t, svc.ResendCode(ctx, res.VerificationID), core.EExpired)
		if n := f.sms.count(p); n != 2 {
			t.Fatalf("a resend after the expiry texted (%d messages)", n)
		}
	})
}

// Until the expiry the resent code works, and it is sent as valid for
// what is left rather than a fresh CODE_TTL.
func TestResentCodeWorksUntilTheFirstExpiry(t *testing.T) {
	f := newFixture()
	eph := ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, "")
	svc, _ := f.service(t, "sqlite", eph, nil)
	ctx := context.Background()
	p := testenv.RandomPhone()
	res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
	mustOK(t, err)
	f.clock.Advance(7 * time.Minute)
	mustOK(t, svc.ResendCode(ctx, res.VerificationID))
	if c := f.sms.last(t, p); c.Kind != core.SMSSignupResend || c.TTL != 3*time.Minute {
		t.Fatalf("the resent code: %s, valid %v; want a resend valid for the 3 minutes left", c.Kind, c.TTL)
	}
	f.clock.Advance(3*time.Minute - time.Second)
	if _, err := svc.VerifyPhone(ctx, res.VerificationID, f.sms.lastCode(t, p)); err != nil {
		t.Fatalf("the resent code a second before the expiry: %v", err)
	}
}
