package account_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/store"
)

// A change with the wrong current password, or to a new password out of
// bounds, is refused on its field and changes nothing: the old password
// still logs in, nothing is texted and nothing is on the trail.
func TestChangePasswordRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		p := verifiedUser(t, svc, f)
		u, err := db.UserByPhone(ctx, p)
		mustOK(t, err)
		notices := f.sms.noticesTo(p)

		for _, c := range []struct {
			current, next, code, field string
		}{
			{"not the password", "a new password", core.EInvalidCreds, "current_password"},
			{"long enough", "short", core.EWeakPassword, "new_password"},
			{"long enough", strings.Repeat("é", 7), core.EWeakPassword, "new_password"},
			{"long enough", strings.Repeat("a", 257), core.EWeakPassword, "new_password"},
		} {
			err := svc.ChangePassword(ctx, u.ID, c.current, c.next)
			wantCode(t, err, c.code)
			if e := err.(*core.Error); e.Field != c.field {
				t.Fatalf("refused on field %q, want %q", e.Field, c.field)
			}
			_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: c.next})
			wantCode(t, err, core.EInvalidCreds)
		}
		if _, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "long enough"}); err != nil {
			t.Fatalf("the old password after refused changes: %v", err)
		}
		if h := hashOf(t, db, u.ID); h != u.PasswordHash {
			t.Fatal("a refused change replaced the hash")
		}
		if got := f.sms.noticesTo(p); !slices.Equal(got, notices) {
			t.Fatalf("refused changes texted %q", got[len(notices):])
		}
		if ev := f.audit.Of(core.EventPasswordChange); len(ev) != 0 {
			t.Fatalf("refused changes recorded %+v", ev)
		}
		wantCode(t, svc.ChangePassword(ctx, "usr_unknown", "long enough", "a new password"), core.ENotFound)
	})
}

// A change with the right current password replaces the hash: the new
// password logs in, the old one no longer does, the user is texted and the
// change is on the user's trail at the injected time.
func TestChangePassword(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		svc.Audit = &store.Auditor{Events: db, Clock: f.clock, Log: svc.Log}
		ctx := context.Background()
		p := verifiedUser(t, svc, f)
		u, err := db.UserByPhone(ctx, p)
		mustOK(t, err)
		f.clock.Advance(time.Hour)

		mustOK(t, svc.ChangePassword(ctx, u.ID, "long enough", "correct horse"))
		_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "long enough"})
		wantCode(t, err, core.EInvalidCreds)
		if _, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "correct horse"}); err != nil {
			t.Fatalf("the new password: %v", err)
		}
		if got := f.sms.noticesTo(p); got[len(got)-1] != "your password was changed." {
			t.Fatalf("notices %q; want the change's last", got)
		}
		events, err := db.EventsByUser(ctx, u.ID, 10)
		mustOK(t, err)
		if len(events) != 1 || events[0].Kind != core.EventPasswordChange || !events[0].CreatedAt.Equal(f.clock.Now()) {
			t.Fatalf("trail %+v; want one password_changed at %v", events, f.clock.Now())
		}
		if stored, _ := db.UserByID(ctx, u.ID); !stored.UpdatedAt.Equal(f.clock.Now()) {
			t.Fatalf("updated_at %v; want %v", stored.UpdatedAt, f.clock.Now())
		}
	})
}

// The current password is a guess like a login's: wrong ones count in the
// login failure limits of the account's phone and are recorded as failed
// logins, so a stolen session cannot guess it faster than a login form can.
func TestWrongCurrentPasswordsCountAsFailedLogins(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		svc.Limits.LoginFailuresPerAccount, svc.Limits.LoginDelayAfter = 3, 1000
		ctx := context.Background()
		p := verifiedUser(t, svc, f)
		u, err := db.UserByPhone(ctx, p)
		mustOK(t, err)
		for range 3 {
			wantCode(t, svc.ChangePassword(ctx, u.ID, "not the password", "a new password"), core.EInvalidCreds)
		}
		if ev := f.audit.Of(core.EventLoginFailed); len(ev) != 3 || ev[0].UserID != u.ID {
			t.Fatalf("failed-login events %+v; want 3 for the user", ev)
		}
		// The limit is reached: the right current password is refused too,
		// and so is a login, with the lock's answer.
		wantCode(t, svc.ChangePassword(ctx, u.ID, "long enough", "a new password"), core.ERateLimited)
		_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "long enough"})
		wantCode(t, err, core.ERateLimited)
		if h := hashOf(t, db, u.ID); h != u.PasswordHash {
			t.Fatal("a refused change replaced the hash")
		}
	})
}
