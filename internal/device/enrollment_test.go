package device_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/ephemeraltest"
)

// An enrollment code enrolls one device: presented again, with another
// key, it is refused as a wrong code and nothing more is added.
func TestEnrollmentCodeWorksOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		code, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		_, err = f.svc.Register(ctx, registration(code))
		mustOK(t, err)
		_, err = f.svc.Register(ctx, registration(code))
		wantCode(t, err, core.EInvalidCode)
		if e := err.(*core.Error); e.Field != "enrollment_code" {
			t.Fatalf("refused on field %q", e.Field)
		}
		if devices, _ := f.svc.List(ctx, f.user.ID); len(devices) != 1 {
			t.Fatalf("%d devices; want the first registration's", len(devices))
		}
	})
}

// An enrollment code works until EnrollmentTTL has passed, not at it.
func TestEnrollmentCodeExpires(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		inTime, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		late, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		f.clock.Advance(device.EnrollmentTTL - time.Second)
		_, err = f.svc.Register(ctx, registration(inTime))
		mustOK(t, err)
		f.clock.Advance(time.Second)
		_, err = f.svc.Register(ctx, registration(late))
		wantCode(t, err, core.EInvalidCode)
		if devices, _ := f.svc.List(ctx, f.user.ID); len(devices) != 1 {
			t.Fatalf("%d devices; want the code used in time's", len(devices))
		}
	})
}

// Each user may create EnrollmentsPerHour codes an hour, each texted to
// them; the next is refused with the time until the oldest leaves the
// hour, texts nothing, and does not touch another user's allowance.
func TestStartEnrollmentIsLimitedPerUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		limit := f.svc.Limits.EnrollmentsPerHour
		for range limit {
			_, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
			mustOK(t, err)
			f.clock.Advance(time.Minute)
		}
		notices := f.notices.to(f.user.Phone)
		if len(notices) != limit || !strings.Contains(notices[0], "If this was not you, change your password.") {
			t.Fatalf("notices %q; want one per code", notices)
		}

		_, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		wantCode(t, err, core.ERateLimited)
		wait := time.Hour - time.Duration(limit)*time.Minute
		if got := err.(*core.Error).RetryAfter; got != wait {
			t.Fatalf("retry after %v; want %v", got, wait)
		}
		if n := len(f.notices.to(f.user.Phone)); n != limit {
			t.Fatalf("the refused code was texted (%d notices)", n)
		}
		other := f.newUser(t)
		_, _, err = f.svc.StartEnrollment(ctx, other.ID)
		mustOK(t, err)

		f.clock.Advance(wait)
		code, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		_, err = f.svc.Register(ctx, registration(code))
		mustOK(t, err)
	})
}
