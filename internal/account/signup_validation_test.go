package account_test

import (
	"context"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/testenv"
)

// Each malformed field is refused with its code on its field, before an
// account exists or anything is texted. Lengths count characters, not
// bytes.
func TestSignupRefusesMalformedFields(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		p := testenv.RandomPhone()
		for _, c := range []struct {
			name        string
			edit        func(in *account.SignupInput)
			code, field string
		}{
			{"no name", func(in *account.SignupInput) { in.Name = "" }, core.EInvalidRequest, "name"},
			{"a blank name", func(in *account.SignupInput) { in.Name = " \t " }, core.EInvalidRequest, "name"},
			{"a 101-character name", func(in *account.SignupInput) { in.Name = strings.Repeat("é", 101) }, core.EInvalidRequest, "name"},
			{"an email without @", func(in *account.SignupInput) { in.Email = "ada.example.com" }, core.EInvalidRequest, "email"},
			{"an email with a display name", func(in *account.SignupInput) { in.Email = "Ada <ada@example.com>" }, core.EInvalidRequest, "email"},
			{"a 255-character email", func(in *account.SignupInput) { in.Email = emailOfLength(255) }, core.EInvalidRequest, "email"},
			{"no phone", func(in *account.SignupInput) { in.Phone = "" }, core.EInvalidPhone, "phone"},
			{"national digits without a country code", func(in *account.SignupInput) { in.Phone = p[2:] }, core.EInvalidPhone, "phone"},
			{"letters in the phone", func(in *account.SignupInput) { in.Phone = "+1 201 CALL NOW" }, core.EInvalidPhone, "phone"},
			{"a 7-character password", func(in *account.SignupInput) { in.Password = "1234567" }, core.EWeakPassword, "password"},
			{"7 characters in 14 bytes", func(in *account.SignupInput) { in.Password = strings.Repeat("é", 7) }, core.EWeakPassword, "password"},
			{"a 257-character password", func(in *account.SignupInput) { in.Password = strings.Repeat("a", 257) }, core.EWeakPassword, "password"},
		} {
			in := account.SignupInput{Name: "Ada", Email: "ada@example.com", Phone: p, Password: "long enough"}
			c.edit(&in)
			_, err := svc.Signup(ctx, in)
			wantCode(t, err, c.code)
			if e := err.(*core.Error); e.Field != c.field {
				t.Fatalf("%s: refused on field %q, want %q", c.name, e.Field, c.field)
			}
		}
		if _, err := db.UserByPhone(ctx, p); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("a refused signup created an account (%v)", err)
		}
		if n := f.sms.total(); n != 0 {
			t.Fatalf("refused signups texted %d messages", n)
		}
	})
}

// The bounds themselves are accepted: a 100-character name, a 254-character
// email, and passwords of 8 and 256 characters however many bytes they take,
// each of which then logs in.
func TestSignupAcceptsTheBounds(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		for _, in := range []account.SignupInput{
			{Name: strings.Repeat("é", 100), Password: "12345678"},
			{Name: "Ada", Email: emailOfLength(254), Password: strings.Repeat("é", 8)},
			{Name: "Ada", Password: strings.Repeat("😀", 256)}, // 1024 bytes
		} {
			in.Phone = testenv.RandomPhone()
			u := signedUp(t, svc, f, in)
			if u.Name != in.Name || u.Email != in.Email {
				t.Fatalf("stored %q <%s>, want %q <%s>", u.Name, u.Email, in.Name, in.Email)
			}
			if _, err := svc.CheckPassword(context.Background(), account.LoginInput{Phone: in.Phone, Password: in.Password}); err != nil {
				t.Fatalf("login with a %d-character password: %v", len([]rune(in.Password)), err)
			}
		}
	})
}

// Name and email are trimmed, the email lower-cased, and a national
// number with its country code stored (and texted) in E.164.
func TestSignupNormalizesWhatItStores(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		p := testenv.RandomPhone() // +1201…
		national := "(" + p[2:5] + ") " + p[5:8] + "-" + p[8:]
		u := signedUp(t, svc, f, account.SignupInput{
			Name: "  Ada Lovelace ", Email: " Ada.Lovelace@Example.COM ", Phone: national, CountryCode: "+1", Password: "long enough",
		})
		stored, err := db.UserByID(context.Background(), u.ID)
		mustOK(t, err)
		if stored.Name != "Ada Lovelace" || stored.Email != "ada.lovelace@example.com" || stored.Phone != p {
			t.Fatalf("stored %q <%s> %s; want %q <%s> %s", stored.Name, stored.Email, stored.Phone, "Ada Lovelace", "ada.lovelace@example.com", p)
		}
		if f.sms.count(p) != 1 {
			t.Fatalf("the code was not texted to %s", p)
		}
		if !stored.PhoneVerified || !stored.TwoFactor {
			t.Fatalf("a new verified account: phone verified %v, two-step login %v; want both", stored.PhoneVerified, stored.TwoFactor)
		}
	})
}

// emailOfLength is a valid address of n characters (200 < n < 260): a
// 195-character domain of labels of at most 63 letters, and a local part
// of what is left.
func emailOfLength(n int) string {
	domain := strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com"
	return strings.Repeat("a", n-1-len(domain)) + "@" + domain
}
