package store

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestPasswordlessSetting(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		if u.Passwordless != core.PasswordlessOff {
			t.Fatalf("a new user's passwordless %q, want off", u.Passwordless)
		}
		for _, mode := range []core.Passwordless{core.PasswordlessPush, core.PasswordlessSMS, core.PasswordlessOff} {
			must(t, db.SetPasswordless(ctx, u.ID, mode, t0.Add(time.Minute)))
			got, err := db.UserByPhone(ctx, u.Phone)
			must(t, err)
			if got.Passwordless != mode {
				t.Fatalf("passwordless %q, want %q", got.Passwordless, mode)
			}
		}
		if err := db.SetPasswordless(ctx, u.ID, "always", t0); err == nil {
			t.Fatal("the database took a passwordless setting that is none")
		}
		wantCode(t, db.SetPasswordless(ctx, "usr_missing", core.PasswordlessPush, t0), core.ENotFound)
	})
}

// The placeholder owner exists after the migrations, cannot be found by a
// phone or an email, and owns approvals as any user; a passwordless
// approval keeps its mode and is never announced push_timeout.
func TestPasswordlessApprovals(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, err := db.UserByID(ctx, core.PlaceholderUserID)
		must(t, err)
		if p.PhoneVerified || p.Phone != "" || p.Email != "" {
			t.Fatalf("placeholder %+v", p)
		}
		a := newApproval(core.PlaceholderUserID, core.ChannelPush, t0.Add(2*time.Minute))
		a.Passwordless = core.PasswordlessPush
		createApproval(t, db, a)
		got, err := db.Approval(ctx, a.ID)
		must(t, err)
		if got.Passwordless != core.PasswordlessPush || got.UserID != core.PlaceholderUserID {
			t.Fatalf("approval %+v", got)
		}

		u := verifiedUser(t, db, "")
		pl := pushed(newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute)))
		pl.Passwordless = core.PasswordlessPush
		createApproval(t, db, pl)
		due, err := db.DuePushTimeouts(ctx, t0.Add(time.Minute), t0.Add(time.Minute), 10)
		must(t, err)
		for _, d := range due {
			if d.ID == pl.ID {
				t.Fatal("a passwordless push was announced push_timeout")
			}
		}
	})
}
