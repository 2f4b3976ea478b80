package account_test

import (
	"context"
	"testing"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/testenv"
)

// A user logs in by email in any case and with stray spaces, or by phone
// in E.164 or as national digits with the country code.
func TestLoginFindsTheUserByEitherIdentifier(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		p := testenv.RandomPhone()
		u := signedUp(t, svc, f, account.SignupInput{Name: "Ada", Email: "Ada@Example.com", Phone: p, Password: "long enough"})
		for _, in := range []account.LoginInput{
			{Email: "ada@example.com"},
			{Email: "  ADA@EXAMPLE.COM "},
			{Phone: p},
			{Phone: "+1 " + p[2:5] + " " + p[5:]},
			{Phone: p[2:], CountryCode: "1"},
		} {
			in.Password = "long enough"
			got, err := svc.CheckPassword(context.Background(), in)
			if err != nil || got.ID != u.ID {
				t.Fatalf("login as %+v: %v, %v", in, got, err)
			}
		}
	})
}

// A login names the user by phone or by email, never both or neither.
func TestLoginTakesOneIdentifier(t *testing.T) {
	f := newFixture()
	eph := ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, "")
	svc, _ := f.service(t, "sqlite", eph, nil)
	p := testenv.RandomPhone()
	signedUp(t, svc, f, account.SignupInput{Name: "Ada", Email: "ada@example.com", Phone: p, Password: "long enough"})
	for _, in := range []account.LoginInput{
		{Password: "long enough"},
		{Phone: p, Email: "ada@example.com", Password: "long enough"},
	} {
		_, err := svc.CheckPassword(context.Background(), in)
		wantCode(t, err, core.EInvalidRequest)
	}
}

// Until its phone is verified an account cannot log in, even with the
// right password, and the answer is exactly a wrong password's and an
// unknown user's; only the verified account's wrong password is on its
// trail. Verified, the same password logs in.
func TestUnverifiedPhoneCannotLogIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		ctx := context.Background()
		verified := verifiedUser(t, svc, f)
		p := testenv.RandomPhone()
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Bo", Phone: p, Password: "long enough"})
		mustOK(t, err)

		_, unverified := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "long enough"})
		_, wrong := svc.CheckPassword(ctx, account.LoginInput{Phone: verified, Password: "not the password"})
		_, unknown := svc.CheckPassword(ctx, account.LoginInput{Phone: testenv.RandomPhone(), Password: "long enough"})
		wantCode(t, unverified, core.EInvalidCreds)
		if unverified.Error() != wrong.Error() || unverified.Error() != unknown.Error() {
			t.Fatalf("unverified %q, wrong password %q, unknown %q: want one answer", unverified, wrong, unknown)
		}
		failed := f.audit.Of(core.EventLoginFailed)
		if len(failed) != 1 || failed[0].UserID == res.UserID {
			t.Fatalf("login_failed events %+v; want the verified account's only", failed)
		}

		_, err = svc.VerifyPhone(ctx, res.VerificationID, f.sms.lastCode(t, p))
		mustOK(t, err)
		if _, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "long enough"}); err != nil {
			t.Fatalf("after verification: %v", err)
		}
	})
}
