package account_test

import (
	"testing"
	"time"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/testenv"
)

// Signups are limited per client address (an IPv6 /64) and hour, so
// signup cannot be used to find out which phones have accounts: a probe
// answered phone_taken counts; a malformed request, refused before, does
// not. Another address is not affected, and an hour later the address may
// sign up again.
func TestSignupsPerAddressAreLimited(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		svc.Limits.SignupsPerIPPerHour = 3
		taken := verifiedUser(t, svc, f)
		here, alsoHere, elsewhere := fromIP("2001:db8:5:6::1"), fromIP("2001:db8:5:6::2"), fromIP("2001:db8:5:7::1")
		signup := func(p string) account.SignupInput {
			return account.SignupInput{Name: "Eve", Phone: p, Password: "long enough"}
		}

		_, err := svc.Signup(here, account.SignupInput{Name: "", Phone: testenv.RandomPhone(), Password: "long enough"})
		wantCode(t, err, core.EInvalidRequest)
		_, err = svc.Signup(here, signup(taken))
		wantCode(t, err, core.EPhoneTaken)
		_, err = svc.Signup(here, signup(testenv.RandomPhone()))
		mustOK(t, err)
		f.clock.Advance(10 * time.Minute)
		_, err = svc.Signup(alsoHere, signup(testenv.RandomPhone()))
		mustOK(t, err)

		sent := f.sms.total()
		refused := testenv.RandomPhone()
		for _, p := range []string{refused, taken} {
			_, err = svc.Signup(here, signup(p))
			wantCode(t, err, core.ERateLimited)
			if wait := err.(*core.Error).RetryAfter; wait <= 0 || wait > 50*time.Minute {
				t.Fatalf("retry after %v; want when the first counted signup leaves the hour (50 min)", wait)
			}
		}
		if n := f.sms.total() - sent; n != 0 {
			t.Fatalf("refused signups texted %d messages", n)
		}
		_, err = svc.Signup(elsewhere, signup(testenv.RandomPhone()))
		mustOK(t, err)

		f.clock.Advance(50 * time.Minute)
		_, err = svc.Signup(here, signup(refused))
		mustOK(t, err)
	})
}
