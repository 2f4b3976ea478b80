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

// A phone with a verified account, in any form it is typed, is refused:
// nothing is texted and the account keeps its password.
func TestSignupRefusesAVerifiedPhone(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		ctx := context.Background()
		p := verifiedUser(t, svc, f)
		sent := f.sms.total()
		for _, in := range []account.SignupInput{
			{Name: "Eve", Phone: p, Password: "eve's password"},
			{Name: "Eve", Phone: p[2:], CountryCode: "1", Password: "eve's password"},
		} {
			_, err := svc.Signup(ctx, in)
			wantCode(t, err, core.EPhoneTaken)
		}
		if n := f.sms.total() - sent; n != 0 {
			t.Fatalf("refused signups texted %d messages", n)
		}
		if _, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "long enough"}); err != nil {
			t.Fatalf("the account's own password after the refused signups: %v", err)
		}
	})
}

// An email with a verified account is refused whatever its case; an
// unverified account's email is not taken yet.
func TestSignupRefusesAVerifiedEmailWhateverItsCase(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		unverified := testenv.RandomPhone()
		_, err := svc.Signup(ctx, account.SignupInput{Name: "Bo", Email: "bo@example.com", Phone: unverified, Password: "long enough"})
		mustOK(t, err)
		signedUp(t, svc, f, account.SignupInput{Name: "Bo", Email: "BO@example.com", Phone: testenv.RandomPhone(), Password: "long enough"})

		other := testenv.RandomPhone()
		_, err = svc.Signup(ctx, account.SignupInput{Name: "Eve", Email: "Bo@Example.com", Phone: other, Password: "long enough"})
		wantCode(t, err, core.EEmailTaken)
		if _, err := db.UserByPhone(ctx, other); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("the refused signup created an account (%v)", err)
		}
		if n := f.sms.count(other); n != 0 {
			t.Fatalf("the refused signup texted %d codes", n)
		}
	})
}

// Two unverified signups with one email: the first to verify keeps it;
// the other's right code is refused with email_taken and leaves its phone
// unverified.
func TestFirstToVerifyAnEmailKeepsIt(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		slow, fast := testenv.RandomPhone(), testenv.RandomPhone()
		first, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Email: "ada@example.com", Phone: slow, Password: "long enough"})
		mustOK(t, err)
		second, err := svc.Signup(ctx, account.SignupInput{Name: "Eve", Email: "ADA@example.com", Phone: fast, Password: "long enough"})
		mustOK(t, err)
		_, err = svc.VerifyPhone(ctx, second.VerificationID, f.sms.lastCode(t, fast))
		mustOK(t, err)

		_, err = svc.VerifyPhone(ctx, first.VerificationID, f.sms.lastCode(t, slow))
		wantCode(t, err, core.EEmailTaken)
		u, err := db.UserByID(ctx, first.UserID)
		mustOK(t, err)
		if u.PhoneVerified {
			t.Fatal("the refused verification verified the phone")
		}
		_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: slow, Password: "long enough"})
		wantCode(t, err, core.EInvalidCreds)
	})
}

// A new signup for a phone that was never verified replaces the old one:
// the old verification and its code are dead, the old account is gone,
// and the new name and password are the account's.
func TestSignupReplacesAnUnverifiedSignup(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		p := testenv.RandomPhone()
		old, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "first password"})
		mustOK(t, err)
		oldCode := f.sms.lastCode(t, p)
		f.clock.Advance(time.Minute)
		next, err := svc.Signup(ctx, account.SignupInput{Name: "Bo", Phone: p, Password: "second password"})
		mustOK(t, err)
		if next.UserID == old.UserID || next.VerificationID == old.VerificationID {
			t.Fatalf("the second signup reused %+v", old)
		}

		_, err = svc.VerifyPhone(ctx, old.VerificationID, oldCode)
		wantCode(t, err, core.EExpired)
		f.clock.Advance(core.ResendCooldown)
		wantCode(t, svc.ResendCode(ctx, old.VerificationID), core.EExpired)
		if _, err := db.UserByID(ctx, old.UserID); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("the replaced account is still there (%v)", err)
		}

		u, err := svc.VerifyPhone(ctx, next.VerificationID, f.sms.lastCode(t, p))
		mustOK(t, err)
		if u.ID != next.UserID || u.Name != "Bo" {
			t.Fatalf("verified %s %q; want %s \"Bo\"", u.ID, u.Name, next.UserID)
		}
		_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "first password"})
		wantCode(t, err, core.EInvalidCreds)
		if _, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "second password"}); err != nil {
			t.Fatalf("the new password: %v", err)
		}
	})
}
