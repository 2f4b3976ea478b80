package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
)

// A successful login clears the identifier's failures: the full count of
// failures is allowed again before the lock, which then holds for the
// right password too until the window has passed.
func TestSuccessfulLoginClearsFailures(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		svc.Limits.LoginFailuresPerAccount = 3
		svc.Limits.LoginDelayAfter = 1000 // the growing delay is TestLoginDelayGrows's
		p := verifiedUser(t, svc, f)
		ctx := context.Background()
		right := account.LoginInput{Phone: p, Password: "long enough"}
		wrong := account.LoginInput{Phone: p, Password: "not the password"}

		for range 2 {
			_, err := svc.CheckPassword(ctx, wrong)
			wantCode(t, err, core.EInvalidCreds)
		}
		_, err := svc.CheckPassword(ctx, right)
		mustOK(t, err)
		for range 3 {
			_, err := svc.CheckPassword(ctx, wrong)
			wantCode(t, err, core.EInvalidCreds)
		}
		_, err = svc.CheckPassword(ctx, right)
		wantCode(t, err, core.ERateLimited)
		if wait := err.(*core.Error).RetryAfter; wait <= 0 || wait > svc.Limits.LoginWindow {
			t.Fatalf("retry after %v; want within the %v window", wait, svc.Limits.LoginWindow)
		}
		f.clock.Advance(svc.Limits.LoginWindow)
		_, err = svc.CheckPassword(ctx, right)
		mustOK(t, err)
	})
}

// From the LoginDelayAfter-th failure on, each next try must wait, from
// LoginDelayBase doubling up to LoginDelayMax: the right password too is
// refused while it waits. A success ends the delay. (The KV is the
// in-process one on both databases: the waits must follow the test's
// clock.)
func TestLoginDelayGrows(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, _ ephemeraltest.Kind) {
		f := newFixture()
		eph := ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, "")
		svc, _ := f.service(t, dialect, eph, nil)
		svc.Limits.LoginFailuresPerAccount = 20 // the hard stop is another test's
		p := verifiedUser(t, svc, f)
		ctx := context.Background()
		right := account.LoginInput{Phone: p, Password: "long enough"}
		wrong := account.LoginInput{Phone: p, Password: "not the password"}

		for range svc.Limits.LoginDelayAfter - 1 {
			_, err := svc.CheckPassword(ctx, wrong)
			wantCode(t, err, core.EInvalidCreds)
		}
		for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
			_, err := svc.CheckPassword(ctx, wrong)
			wantCode(t, err, core.EInvalidCreds)
			for _, in := range []account.LoginInput{right, wrong} {
				_, err = svc.CheckPassword(ctx, in)
				wantCode(t, err, core.ERateLimited)
				if got := err.(*core.Error).RetryAfter; got != want {
					t.Fatalf("retry after %v; want %v", got, want)
				}
			}
			f.clock.Advance(want - time.Second)
			_, err = svc.CheckPassword(ctx, right)
			wantCode(t, err, core.ERateLimited)
			f.clock.Advance(time.Second)
		}
		_, err := svc.CheckPassword(ctx, right)
		mustOK(t, err)
		for range svc.Limits.LoginDelayAfter - 1 {
			_, err := svc.CheckPassword(ctx, wrong)
			wantCode(t, err, core.EInvalidCreds)
		}
	})
}
