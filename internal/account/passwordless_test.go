package account_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// addDevice enrolls a device for userID straight in the store.
func addDevice(t *testing.T, db *store.DB, userID string, f *fixture) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	mustOK(t, err)
	mustOK(t, db.CreateDevice(context.Background(), &core.Device{
		ID: core.NewID(core.PrefixDevice), UserID: userID, Name: "phone", PublicKey: pub,
		TOTPSecretEnc: []byte("sealed"), CreatedAt: f.clock.Now(),
	}))
}

func TestSetPasswordless(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		u := signedUp(t, svc, f, account.SignupInput{Name: "Ada", Phone: testenv.RandomPhone(), Password: "long enough"})

		_, err := svc.SetPasswordless(ctx, u.ID, core.PasswordlessPush)
		wantCode(t, err, core.EInvalidRequest) // no device yet
		_, err = svc.SetPasswordless(ctx, u.ID, core.PasswordlessSMS)
		wantCode(t, err, core.EInvalidRequest) // the operator did not allow it
		_, err = svc.SetPasswordless(ctx, u.ID, "always")
		wantCode(t, err, core.EInvalidRequest)

		addDevice(t, db, u.ID, f)
		p, err := svc.SetPasswordless(ctx, u.ID, core.PasswordlessPush)
		mustOK(t, err)
		if p.User.Passwordless != core.PasswordlessPush {
			t.Fatalf("profile says %q", p.User.Passwordless)
		}
		svc.PasswordlessSMS = true
		p, err = svc.SetPasswordless(ctx, u.ID, core.PasswordlessSMS)
		mustOK(t, err)
		if p.User.Passwordless != core.PasswordlessSMS {
			t.Fatalf("profile says %q", p.User.Passwordless)
		}
		p, err = svc.SetPasswordless(ctx, u.ID, core.PasswordlessOff)
		mustOK(t, err)
		if p.User.Passwordless != core.PasswordlessOff {
			t.Fatalf("profile says %q", p.User.Passwordless)
		}
		notices := f.sms.noticesTo(u.Phone)[1:] // after "your account was created."
		if len(notices) != 3 || !strings.Contains(notices[0], "without your password") {
			t.Fatalf("notices %q; want one per change", notices)
		}
	})
}

// Passwordless names the user only when their passwordless sign-in is on
// and allowed; every other identifier gets nobody and a channel of its
// own, the same at every try.
func TestPasswordlessTarget(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		svc.Limits.PasswordlessPerIdentifier = 100
		ctx := context.Background()
		off := signedUp(t, svc, f, account.SignupInput{Name: "Off", Phone: testenv.RandomPhone(), Password: "long enough"})
		push := signedUp(t, svc, f, account.SignupInput{Name: "Push", Phone: testenv.RandomPhone(), Password: "long enough"})
		sms := signedUp(t, svc, f, account.SignupInput{Name: "SMS", Phone: testenv.RandomPhone(), Password: "long enough"})
		addDevice(t, db, push.ID, f)
		_, err := svc.SetPasswordless(ctx, push.ID, core.PasswordlessPush)
		mustOK(t, err)
		svc.PasswordlessSMS = true
		_, err = svc.SetPasswordless(ctx, sms.ID, core.PasswordlessSMS)
		mustOK(t, err)

		target := func(phone string) *account.PasswordlessTarget {
			t.Helper()
			tg, err := svc.Passwordless(ctx, account.LoginInput{Phone: phone})
			mustOK(t, err)
			return tg
		}
		if tg := target(push.Phone); tg.User == nil || tg.User.ID != push.ID || tg.Mode != core.PasswordlessPush {
			t.Fatalf("push user: %+v", tg)
		}
		if tg := target(sms.Phone); tg.User == nil || tg.User.ID != sms.ID || tg.Mode != core.PasswordlessSMS {
			t.Fatalf("sms user: %+v", tg)
		}
		seen := map[core.Passwordless]bool{}
		for _, phone := range []string{off.Phone, testenv.RandomPhone(), testenv.RandomPhone(), testenv.RandomPhone(), testenv.RandomPhone(), testenv.RandomPhone(), testenv.RandomPhone(), testenv.RandomPhone(), testenv.RandomPhone()} {
			first := target(phone)
			if first.User != nil || (first.Mode != core.PasswordlessPush && first.Mode != core.PasswordlessSMS) {
				t.Fatalf("%s: %+v; want nobody on a channel", phone, first)
			}
			if again := target(phone); again.Mode != first.Mode {
				t.Fatalf("%s: channel %s then %s", phone, first.Mode, again.Mode)
			}
			seen[first.Mode] = true
		}
		if !seen[core.PasswordlessPush] || !seen[core.PasswordlessSMS] {
			t.Errorf("placeholder channels %v; want both while SMS is allowed (1 in 256 chance of a false alarm)", seen)
		}
		// The operator turns passwordless SMS off: nobody is texted, and
		// placeholders are pushes only.
		svc.PasswordlessSMS = false
		if tg := target(sms.Phone); tg.User != nil || tg.Mode != core.PasswordlessPush {
			t.Fatalf("sms user with SMS not allowed: %+v", tg)
		}
	})
}

// Starts are limited per identifier and per client, for an unknown
// identifier as for a user: a 429 tells nothing.
func TestPasswordlessLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		svc.Limits.PasswordlessPerIdentifier, svc.Limits.PasswordlessPerIP = 2, 5
		ctx := context.Background()
		u := signedUp(t, svc, f, account.SignupInput{Name: "Ada", Phone: testenv.RandomPhone(), Password: "long enough"})
		addDevice(t, db, u.ID, f)
		_, err := svc.SetPasswordless(ctx, u.ID, core.PasswordlessPush)
		mustOK(t, err)
		for _, phone := range []string{u.Phone, testenv.RandomPhone()} {
			for i := range 3 {
				_, err := svc.Passwordless(fromIP("198.51.100.1"), account.LoginInput{Phone: phone})
				if i < 2 {
					mustOK(t, err)
				} else {
					wantCode(t, err, core.ERateLimited)
				}
			}
		}
		// 4 counted from 198.51.100.1 (the refused ones are not): one more,
		// then the client is refused whatever the identifier.
		_, err = svc.Passwordless(fromIP("198.51.100.1"), account.LoginInput{Phone: testenv.RandomPhone()})
		mustOK(t, err)
		_, err = svc.Passwordless(fromIP("198.51.100.1"), account.LoginInput{Phone: testenv.RandomPhone()})
		wantCode(t, err, core.ERateLimited)
		f.clock.Advance(svc.Limits.PasswordlessWindow)
		_, err = svc.Passwordless(fromIP("198.51.100.1"), account.LoginInput{Phone: u.Phone})
		mustOK(t, err)
	})
}
