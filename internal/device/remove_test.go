package device_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
)

// Removing a device takes it off the user's list, texts the user and puts
// the removal on the trail at the injected time; removing it again is
// not_found and records and texts nothing more.
func TestRemoveDevice(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		gone := f.enrolled(t, f.user, registration(""))
		f.clock.Advance(time.Second)
		kept := f.enrolled(t, f.user, registration(""))
		f.clock.Advance(time.Minute)

		mustOK(t, f.svc.Remove(ctx, f.user.ID, gone.DeviceID))
		devices, err := f.svc.List(ctx, f.user.ID)
		mustOK(t, err)
		if len(devices) != 1 || devices[0].ID != kept.DeviceID {
			t.Fatalf("after the removal: %+v; want only %s", devices, kept.DeviceID)
		}
		trail := f.trail(t, f.user.ID)
		last := trail[len(trail)-1]
		if last.Kind != core.EventDeviceRemoved || last.Detail != gone.DeviceID || !last.CreatedAt.Equal(f.clock.Now()) {
			t.Fatalf("last trail entry %+v; want device_removed %s at %v", last, gone.DeviceID, f.clock.Now())
		}
		notices := f.notices.to(f.user.Phone)
		if notices[len(notices)-1] != "an authenticator device was removed from your account." {
			t.Fatalf("notices %q; want the removal's last", notices)
		}

		wantCode(t, f.svc.Remove(ctx, f.user.ID, gone.DeviceID), core.ENotFound)
		if len(f.trail(t, f.user.ID)) != len(trail) || !slices.Equal(f.notices.to(f.user.Phone), notices) {
			t.Fatal("removing a removed device recorded or texted something")
		}
	})
}

// A user cannot remove another user's device, or anything that is not a
// device id: not_found, the device stays, and neither user's trail or
// phone hears of it.
func TestRemoveAnotherUsersDevice(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		ada := f.enrolled(t, f.user, registration(""))
		eve := f.newUser(t)
		adaTrail, adaNotices := len(f.trail(t, f.user.ID)), len(f.notices.to(f.user.Phone))

		for _, id := range []string{ada.DeviceID, "nonsense", f.user.ID} {
			wantCode(t, f.svc.Remove(ctx, eve.ID, id), core.ENotFound)
		}
		if devices, _ := f.svc.List(ctx, f.user.ID); len(devices) != 1 || devices[0].ID != ada.DeviceID {
			t.Fatalf("Ada's devices %+v; want %s still", devices, ada.DeviceID)
		}
		if len(f.trail(t, f.user.ID)) != adaTrail || len(f.trail(t, eve.ID)) != 0 ||
			len(f.notices.to(f.user.Phone)) != adaNotices || len(f.notices.to(eve.Phone)) != 0 {
			t.Fatal("a refused removal recorded or texted something")
		}
	})
}
