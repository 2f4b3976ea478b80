package account_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/store"
)

// Two-step login is on for a new account. Turning it off and on again is
// stored, texted to the user and put on the trail each time; asking for
// the state it is already in changes, texts and records nothing.
func TestSetTwoFactor(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		svc.Audit = &store.Auditor{Events: db, Clock: f.clock, Log: svc.Log}
		ctx := context.Background()
		p := verifiedUser(t, svc, f)
		u, err := db.UserByPhone(ctx, p)
		mustOK(t, err)
		if !u.TwoFactor {
			t.Fatal("a new account has two-step login off")
		}
		notices := f.sms.noticesTo(p)

		for _, c := range []struct {
			on      bool
			changes bool
		}{{false, true}, {false, false}, {true, true}, {true, false}} {
			f.clock.Advance(time.Minute)
			before, err := db.EventsByUser(ctx, u.ID, 10)
			mustOK(t, err)
			prof, err := svc.SetTwoFactor(ctx, u.ID, c.on)
			mustOK(t, err)
			stored, err := db.UserByID(ctx, u.ID)
			mustOK(t, err)
			if prof.User.TwoFactor != c.on || stored.TwoFactor != c.on {
				t.Fatalf("set to %v: answered %v, stored %v", c.on, prof.User.TwoFactor, stored.TwoFactor)
			}
			after, err := db.EventsByUser(ctx, u.ID, 10)
			mustOK(t, err)
			state := map[bool]string{true: "on", false: "off"}[c.on]
			if !c.changes {
				if len(after) != len(before) || !slices.Equal(f.sms.noticesTo(p), notices) {
					t.Fatalf("setting %s again recorded or texted something", state)
				}
				continue
			}
			if len(after) != len(before)+1 || after[0].Kind != core.EventTwoFactor ||
				after[0].Detail != "two-step login turned "+state || !after[0].CreatedAt.Equal(f.clock.Now()) {
				t.Fatalf("turned %s: trail %+v", state, after)
			}
			notices = append(notices, "two-step login was turned "+state+" for your account.")
			if got := f.sms.noticesTo(p); !slices.Equal(got, notices) {
				t.Fatalf("turned %s: notices %q; want %q", state, got, notices)
			}
			if !stored.UpdatedAt.Equal(f.clock.Now()) {
				t.Fatalf("turned %s: updated_at %v; want %v", state, stored.UpdatedAt, f.clock.Now())
			}
		}
		_, err = svc.SetTwoFactor(ctx, "usr_unknown", false)
		wantCode(t, err, core.ENotFound)
	})
}
