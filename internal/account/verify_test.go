package account_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/testenv"
)

// countedCodes counts the comparisons of codes.
type countedCodes struct {
	account.CodeHasher
	compared atomic.Int32
}

func (c *countedCodes) Equal(hash, scope, code string) bool {
	c.compared.Add(1)
	return c.CodeHasher.Equal(hash, scope, code)
}

// readTogether holds every read of a verification until n reads are done,
// so n requests all find it pending, as requests sent at once can.
type readTogether struct {
	core.UserStore
	arrived sync.WaitGroup
}

func (r *readTogether) Verification(ctx context.Context, id string) (*core.Verification, error) {
	v, err := r.UserStore.Verification(ctx, id)
	r.arrived.Done()
	r.arrived.Wait()
	return v, err
}

// Forty wrong codes at once for one verification, all read while it was
// pending: each takes an attempt before it is compared, so five are
// compared, four answer with what is left, the fifth locks it, and the
// rest are refused without a comparison.
func TestConcurrentWrongCodesAreComparedAtMostFiveTimes(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		p := testenv.RandomPhone()
		res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
		mustOK(t, err)
		wrong := wrongCode(f.sms.lastCode(t, p))

		const n = 40
		codes := &countedCodes{CodeHasher: svc.Codes}
		together := &readTogether{UserStore: db}
		together.arrived.Add(n)
		svc.Codes, svc.Users = codes, together
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = svc.VerifyPhone(ctx, res.VerificationID, wrong) })
		}
		wg.Wait()

		var left []int
		for i, err := range errs {
			var e *core.Error
			switch {
			case core.IsCode(err, core.EInvalidCode):
				e = err.(*core.Error)
				left = append(left, *e.AttemptsLeft)
			case !core.IsCode(err, core.ELocked):
				t.Fatalf("code %d: %v", i, err)
			}
		}
		slices.Sort(left)
		if !slices.Equal(left, []int{1, 2, 3, 4}) {
			t.Fatalf("attempts_left %v; want 1..4 once each and the rest locked", left)
		}
		if got := codes.compared.Load(); got != core.MaxCodeAttempts {
			t.Fatalf("%d codes compared; want %d", got, core.MaxCodeAttempts)
		}
		v, err := db.Verification(ctx, res.VerificationID)
		mustOK(t, err)
		if v.Status != core.VerificationLocked || v.Attempts != core.MaxCodeAttempts {
			t.Fatalf("after the burst: %s with %d attempts", v.Status, v.Attempts)
		}
		svc.Users = db
		_, err = svc.VerifyPhone(ctx, res.VerificationID, f.sms.lastCode(t, p))
		wantCode(t, err, core.ELocked)
	})
}

// The right code on the last attempt still verifies.
func TestRightCodeOnTheLastAttemptVerifies(t *testing.T) {
	f := newFixture()
	eph := ephemeraltest.Open(t, ephemeraltest.InProcess, f.clock, "")
	svc, _ := f.service(t, "sqlite", eph, nil)
	ctx := context.Background()
	p := testenv.RandomPhone()
	res, err := svc.Signup(ctx, account.SignupInput{Name: "Ada", Phone: p, Password: "long enough"})
	mustOK(t, err)
	code := f.sms.lastCode(t, p)
	wrong := wrongCode(code)
	for left := core.MaxCodeAttempts - 1; left > 0; left-- {
		_, err := svc.VerifyPhone(ctx, res.VerificationID, wrong)
		wantCode(t, err, core.EInvalidCode)
	}
	u, err := svc.VerifyPhone(ctx, res.VerificationID, code)
	mustOK(t, err)
	if !u.PhoneVerified {
		t.Fatalf("after the right code on the last attempt: %+v", u)
	}
}
