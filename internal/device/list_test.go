package device_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/ephemeraltest"
)

// A user's list holds their own devices, oldest first, and no one else's.
func TestListShowsOnlyTheUsersDevices(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		bo, nobody := f.newUser(t), f.newUser(t)
		var want []string
		for _, name := range []string{"first", "second"} {
			r := registration("")
			r.Name = name
			want = append(want, f.enrolled(t, f.user, r).DeviceID)
			f.clock.Advance(time.Second)
			f.enrolled(t, bo, registration(""))
			f.clock.Advance(time.Second)
		}

		devices, err := f.svc.List(ctx, f.user.ID)
		mustOK(t, err)
		if len(devices) != 2 || devices[0].ID != want[0] || devices[1].ID != want[1] ||
			devices[0].Name != "first" || devices[1].Name != "second" {
			t.Fatalf("listed %+v; want %v", devices, want)
		}
		for _, d := range devices {
			if d.UserID != f.user.ID {
				t.Fatalf("listed %s of %s", d.ID, d.UserID)
			}
		}
		if devices, _ := f.svc.List(ctx, bo.ID); len(devices) != 2 {
			t.Fatalf("Bo has %d devices; want 2", len(devices))
		}
		if devices, err := f.svc.List(ctx, nobody.ID); err != nil || len(devices) != 0 {
			t.Fatalf("a user without devices: %v, %v", devices, err)
		}
	})
}
