package device_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
)

// A public key already enrolled, by the same user or another, is refused
// with key_taken; neither user gains a device or a trail entry.
func TestRegisterRefusesAKeyAlreadyEnrolled(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		first := registration("")
		f.enrolled(t, f.user, first)
		other := f.newUser(t)
		for _, u := range []*core.User{f.user, other} {
			code, _, err := f.svc.StartEnrollment(ctx, u.ID)
			mustOK(t, err)
			again := registration(code)
			again.PublicKey = first.PublicKey
			_, err = f.svc.Register(ctx, again)
			wantCode(t, err, core.EKeyTaken)
		}
		for u, want := range map[*core.User]int{f.user: 1, other: 0} {
			if devices, _ := f.svc.List(ctx, u.ID); len(devices) != want || len(f.trail(t, u.ID)) != want {
				t.Fatalf("%d devices, %d trail entries; want %d of each", len(devices), len(f.trail(t, u.ID)), want)
			}
		}
	})
}

// A user has at most MaxDevices devices: one more is refused until one is
// removed.
func TestAtMostMaxDevicesPerUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		f.svc.Limits.EnrollmentsPerHour = 2 * core.MaxDevices
		ctx := context.Background()
		var first string
		for i := range core.MaxDevices {
			reg := f.enrolled(t, f.user, registration(""))
			if i == 0 {
				first = reg.DeviceID
			}
			f.clock.Advance(time.Second)
		}
		code, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		_, err = f.svc.Register(ctx, registration(code))
		wantCode(t, err, core.ETooManyDevices)
		if devices, _ := f.svc.List(ctx, f.user.ID); len(devices) != core.MaxDevices {
			t.Fatalf("%d devices; want %d", len(devices), core.MaxDevices)
		}

		mustOK(t, f.svc.Remove(ctx, f.user.ID, first))
		f.enrolled(t, f.user, registration(""))
		if devices, _ := f.svc.List(ctx, f.user.ID); len(devices) != core.MaxDevices {
			t.Fatalf("%d devices; want %d", len(devices), core.MaxDevices)
		}
	})
}
