package approval_test

import (
	"context"
	"database/sql"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/store"
)

// concurrently runs fn(i) for i in [0,n) at once and waits for all.
func concurrently(n int, fn func(i int)) {
	start, done := make(chan struct{}), make(chan struct{}, n)
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
}

// comparisons is a device store that counts the reads of a user's devices:
// a code that is not the SMS code is compared with each device's TOTP code,
// so every wrong code compared reads them once.
type comparisons struct {
	core.DeviceStore
	n atomic.Int32
}

func (c *comparisons) DevicesByUser(ctx context.Context, userID string) ([]*core.Device, error) {
	c.n.Add(1)
	return c.DeviceStore.DevicesByUser(ctx, userID)
}

// wrongCodesInTrail counts the wrong codes in the user's trail.
func (f *fixture) wrongCodesInTrail(t *testing.T, userID string) int {
	t.Helper()
	evs, err := f.db.EventsByUser(context.Background(), userID, 50)
	ok(t, err)
	n := 0
	for _, e := range evs {
		if e.Kind == core.EventCodeFailed {
			n++
		}
	}
	return n
}

// Forty wrong codes at once for one approval, all sent while it was
// pending: each takes an attempt before it is compared, so five are
// compared, four answer with what is left, the fifth denies, and the rest
// are refused without a comparison.
func TestConcurrentWrongCodesAreComparedAtMostFiveTimes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	id := f.start(t, u).Approval.ID
	wrong := otherCode(f.lastCode(t, u.Phone))
	pending := f.stored(t, id)
	compared := &comparisons{DeviceStore: f.db}
	f.svc.Devices = compared

	const n = 40
	errs := make([]error, n)
	concurrently(n, func(i int) {
		a := *pending // each request read the approval before any code was tried
		errs[i] = f.svc.VerifyCode(ctx, &a, wrong)
	})
	var left []int
	locked := 0
	for i, err := range errs {
		var e *core.Error
		switch {
		case core.IsCode(err, core.EInvalidCode):
			e = wantCode(t, err, core.EInvalidCode)
			left = append(left, *e.AttemptsLeft)
		case core.IsCode(err, core.ELocked):
			locked++
		case core.IsCode(err, core.EAlreadyDecided), core.IsCode(err, core.ERateLimited):
		default:
			t.Fatalf("code %d: %v", i, err)
		}
	}
	slices.Sort(left)
	if !slices.Equal(left, []int{1, 2, 3, 4}) || locked == 0 {
		t.Fatalf("attempts_left %v and %d locked; want 1..4 once each and the 5th locked", left, locked)
	}
	if got := compared.n.Load(); got != core.MaxCodeAttempts {
		t.Fatalf("%d codes compared; want %d", got, core.MaxCodeAttempts)
	}
	if got := f.wrongCodesInTrail(t, u.ID); got != core.MaxCodeAttempts {
		t.Fatalf("%d wrong codes in the trail; want %d", got, core.MaxCodeAttempts)
	}
	a := f.stored(t, id)
	if a.Status != core.ApprovalDenied || a.Reason != core.ReasonTooManyAttempts || a.Attempts != core.MaxCodeAttempts {
		t.Fatalf("after the burst: %s/%s with %d attempts", a.Status, a.Reason, a.Attempts)
	}
}

// The right code on the last attempt still approves.
func TestRightCodeOnTheLastAttemptApproves(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	id := f.start(t, u).Approval.ID
	code := f.lastCode(t, u.Phone)
	for range core.MaxCodeAttempts - 1 {
		wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), otherCode(code)), core.EInvalidCode)
	}
	ok(t, f.svc.VerifyCode(ctx, f.stored(t, id), code))
	if a := f.stored(t, id); a.Status != core.ApprovalApproved || a.Method != core.MethodSMS || a.Attempts != core.MaxCodeAttempts {
		t.Fatalf("after the right code on the last attempt: %s by %q with %d attempts", a.Status, a.Method, a.Attempts)
	}
}

// countsPastTheLimit is a store where, between a code's reserved attempt
// and its approval, the count goes past the limit, as an instance that
// still counted wrong codes after comparing them would push it.
type countsPastTheLimit struct {
	*store.DB
	f *fixture
	t *testing.T
}

func (s countsPastTheLimit) ApproveWithCode(ctx context.Context, id string, now time.Time, d core.Decided) (*core.Approval, error) {
	s.f.setAttempts(s.t, id, core.MaxCodeAttempts+1)
	return s.DB.ApproveWithCode(ctx, id, now, d)
}

// setAttempts sets an approval's count of code attempts as no transition
// does, straight in the database.
func (f *fixture) setAttempts(t *testing.T, id string, n int) {
	t.Helper()
	db, err := sql.Open("sqlite", f.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE approvals SET attempts = ? WHERE id = ?", n, id); err != nil {
		t.Fatal(err)
	}
}

// A right code approves only while the stored count of attempts is within
// the limit, whatever its own reservation said.
func TestRightCodeDoesNotApprovePastTheLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Approvals = countsPastTheLimit{f.db, f, t}
	ctx := context.Background()
	u := f.user(t)
	id := f.start(t, u).Approval.ID
	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), f.lastCode(t, u.Phone)), core.ELocked)
	if a := f.stored(t, id); a.Status != core.ApprovalPending {
		t.Fatalf("approved with %d attempts counted", a.Attempts)
	}
}

// startSMS starts an SMS login for u and returns its id and its code.
func (f *fixture) startSMS(t *testing.T, u *core.User) (id, code string) {
	t.Helper()
	id = f.start(t, u).Approval.ID
	return id, f.lastCode(t, u.Phone)
}

// wrongCodes tries n wrong codes on approval id.
func (f *fixture) wrongCodes(t *testing.T, id, code string, n int) {
	t.Helper()
	for range n {
		err := f.svc.VerifyCode(context.Background(), f.stored(t, id), otherCode(code))
		if !core.IsCode(err, core.EInvalidCode) && !core.IsCode(err, core.ELocked) {
			t.Fatalf("wrong code: %v", err)
		}
	}
}

// TestWrongCodesPerHourRefuseVerify: the user's hourly count of wrong codes
// holds on /verify itself, for a login started before it was spent: no
// code is compared then, not even the right one.
func TestWrongCodesPerHourRefuseVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	first, firstCode := f.startSMS(t, u)
	second, secondCode := f.startSMS(t, u)
	third, thirdCode := f.startSMS(t, u) // started with no wrong code counted
	f.wrongCodes(t, first, firstCode, core.MaxCodeAttempts)
	f.wrongCodes(t, second, secondCode, f.svc.Config.WrongCodesPerHour-core.MaxCodeAttempts)

	f.clock.Advance(time.Minute)
	e := wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, third), thirdCode), core.ERateLimited)
	if e.RetryAfter != time.Hour-time.Minute {
		t.Fatalf("Retry-After %v; want %v", e.RetryAfter, time.Hour-time.Minute)
	}
	if a := f.stored(t, third); a.Status != core.ApprovalPending || a.Attempts != 0 {
		t.Fatalf("a refused code was tried: %s with %d attempts", a.Status, a.Attempts)
	}
}

// Only wrong codes count towards the hour: a right one, and one refused
// before it was compared, give back what they took.
func TestOnlyWrongCodesCountTowardsTheHour(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	first, firstCode := f.startSMS(t, u)
	second, secondCode := f.startSMS(t, u)
	third, thirdCode := f.startSMS(t, u)
	fourth, fourthCode := f.startSMS(t, u)
	fifth, fifthCode := f.startSMS(t, u)
	f.wrongCodes(t, first, firstCode, core.MaxCodeAttempts)
	f.wrongCodes(t, second, secondCode, f.svc.Config.WrongCodesPerHour-core.MaxCodeAttempts-1)

	// The approval has no attempt left (its last one is being compared):
	// refused, and not counted for the hour.
	f.setAttempts(t, fourth, core.MaxCodeAttempts)
	for range 3 {
		wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, fourth), otherCode(fourthCode)), core.ELocked)
	}
	// The right code approves and is not counted either.
	ok(t, f.svc.VerifyCode(ctx, f.stored(t, third), thirdCode))

	// So one wrong code is left for the hour, and then none.
	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, fifth), otherCode(fifthCode)), core.EInvalidCode)
	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, fifth), otherCode(fifthCode)), core.ERateLimited)
}

// failingLimiter is a limiter that cannot be reached.
type failingLimiter struct{ core.Limiter }

func (failingLimiter) Reserve(context.Context, string, int, time.Duration, time.Time) (core.LimitDecision, string, error) {
	return core.LimitDecision{}, "", core.Unavailable("redis", context.DeadlineExceeded)
}

// While the user's count cannot be kept, no code is compared: 503, and the
// approval keeps its attempts.
func TestNoCodeIsComparedWithoutTheHourlyCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	id, code := f.startSMS(t, u)
	f.svc.Limiter = failingLimiter{f.svc.Limiter}
	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), code), core.EUnavailable)
	wantCode(t, f.svc.VerifyCode(ctx, f.stored(t, id), otherCode(code)), core.EUnavailable)
	if a := f.stored(t, id); a.Status != core.ApprovalPending || a.Attempts != 0 {
		t.Fatalf("a code was tried without the hourly count: %s with %d attempts", a.Status, a.Attempts)
	}
}
