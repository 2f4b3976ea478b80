package approval_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
)

// t0 is the "now" of the state-machine tests.
var t0 = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

const codeTTL = 10 * time.Minute

func ptr[T any](v T) *T { return &v }

// stateOp is one operation of the state machine, reduced to its error.
type stateOp struct {
	name string
	run  func(a *core.Approval, now time.Time) error
}

var stateOps = []stateOp{
	{"CheckPending", approval.CheckPending},
	{"Decide approve", func(a *core.Approval, now time.Time) error {
		_, err := approval.Decide(a, now, approval.Outcome{Approve: true, Method: core.MethodPush, By: "dev_x"})
		return err
	}},
	{"Decide deny", func(a *core.Approval, now time.Time) error {
		_, err := approval.Decide(a, now, approval.Outcome{Reason: core.ReasonUserDenied, By: "dev_x"})
		return err
	}},
	{"FallBack", func(a *core.Approval, now time.Time) error {
		_, err := approval.FallBack(a, now, core.ReasonRequested, codeTTL)
		return err
	}},
	{"SetCode", func(a *core.Approval, now time.Time) error {
		_, err := approval.SetCode(a, now, "new-hash")
		return err
	}},
	{"CanExchange", approval.CanExchange},
}

// approvalIn returns an approval in the named state as seen at t0.
func approvalIn(state string) *core.Approval {
	a := &core.Approval{
		ID: "apr_test", UserID: "usr_test", Status: core.ApprovalPending, Channel: core.ChannelPush,
		MatchNumber: 42, ExpiresAt: t0.Add(time.Minute), PushSentAt: ptr(t0.Add(-time.Minute)),
		CreatedAt: t0.Add(-time.Minute),
	}
	decided := func(s core.ApprovalStatus) {
		a.Status, a.DecidedAt, a.DecidedBy = s, ptr(t0.Add(-time.Second)), "dev_y"
	}
	switch state {
	case "pending":
	case "pending past expiry":
		a.ExpiresAt = t0
	case "approved":
		decided(core.ApprovalApproved)
		a.Method = core.MethodPush
	case "approved and exchanged":
		decided(core.ApprovalApproved)
		a.Method, a.ExchangedAt = core.MethodPush, ptr(t0.Add(-time.Millisecond))
	case "denied":
		decided(core.ApprovalDenied)
		a.Reason = core.ReasonNumberMismatch
	case "expired":
		a.Status, a.ExpiresAt = core.ApprovalExpired, t0.Add(-time.Second)
	default:
		panic("unknown state " + state)
	}
	return a
}

// TestEveryStateTimesEveryOperation pins the answer of each operation in each
// state, and that no operation changes the approval it is asked about (the
// store writes what it returns).
func TestEveryStateTimesEveryOperation(t *testing.T) {
	const (
		ok      = ""
		expired = core.EExpired
		decided = core.EAlreadyDecided
	)
	// Columns follow stateOps: CheckPending, Decide approve, Decide deny,
	// FallBack, SetCode, CanExchange.
	want := map[string][]string{
		"pending":                {ok, ok, ok, ok, ok, core.ENotApproved},
		"pending past expiry":    {expired, expired, expired, expired, expired, expired},
		"approved":               {decided, decided, decided, decided, decided, ok},
		"approved and exchanged": {decided, decided, decided, decided, decided, core.EAlreadyExchanged},
		"denied":                 {decided, decided, decided, decided, decided, core.ENotApproved},
		"expired":                {expired, expired, expired, expired, expired, expired},
	}
	for state, codes := range want {
		for i, op := range stateOps {
			t.Run(state+"/"+op.name, func(t *testing.T) {
				a := approvalIn(state)
				before := *a
				err := op.run(a, t0)
				if got := core.ErrorCode(err); got != codes[i] {
					t.Fatalf("error code %q (%v); want %q", got, err, codes[i])
				}
				if !reflect.DeepEqual(*a, before) {
					t.Fatalf("%s changed the approval:\n got %+v\nwant %+v", op.name, *a, before)
				}
			})
		}
	}
}

// TestExpiryBoundary: an approval is expired at exactly expires_at and
// pending 1 ns before, whether or not a sweeper has marked it yet.
func TestExpiryBoundary(t *testing.T) {
	for _, op := range stateOps {
		if op.name == "CanExchange" {
			continue
		}
		t.Run(op.name, func(t *testing.T) {
			exp := approvalIn("pending").ExpiresAt
			if err := op.run(approvalIn("pending"), exp.Add(-time.Nanosecond)); err != nil {
				t.Fatalf("1 ns before expires_at: %v; want it still pending", err)
			}
			if err := op.run(approvalIn("pending"), exp); !core.IsCode(err, core.EExpired) {
				t.Fatalf("at expires_at: %v; want expired", err)
			}
		})
	}
}

func TestDecideRecordsTheOutcome(t *testing.T) {
	cases := []struct {
		name    string
		outcome approval.Outcome
		status  core.ApprovalStatus
		reason  string
		method  string
		by      string
	}{
		{"push approval", approval.Outcome{Approve: true, Method: core.MethodPush, By: "dev_a"},
			core.ApprovalApproved, "", core.MethodPush, "dev_a"},
		{"sms approval", approval.Outcome{Approve: true, Method: core.MethodSMS},
			core.ApprovalApproved, "", core.MethodSMS, ""},
		{"otp approval", approval.Outcome{Approve: true, Method: core.MethodOTP, By: "dev_b"},
			core.ApprovalApproved, "", core.MethodOTP, "dev_b"},
		{"denial by a device", approval.Outcome{Reason: core.ReasonNumberMismatch, By: "dev_a"},
			core.ApprovalDenied, core.ReasonNumberMismatch, "", "dev_a"},
		// A denial has no method, even if one was passed along.
		{"denial with a stray method", approval.Outcome{Reason: core.ReasonReported, Method: core.MethodPush, By: "dev_a"},
			core.ApprovalDenied, core.ReasonReported, "", "dev_a"},
		{"denial by wrong codes", approval.Outcome{Reason: core.ReasonTooManyAttempts},
			core.ApprovalDenied, core.ReasonTooManyAttempts, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := approvalIn("pending")
			// A fallback reason while pending must not survive the decision.
			a.Channel, a.Reason = core.ChannelSMS, core.ReasonPushTimeout
			now := t0.Add(3 * time.Second)
			got, err := approval.Decide(a, now, c.outcome)
			if err != nil {
				t.Fatal(err)
			}
			// The decision writes an empty reason: a fallback reason while
			// pending must not survive it.
			want := core.Decided{Status: c.status, Reason: c.reason, Method: c.method, At: now, By: c.by}
			if got != want {
				t.Errorf("decision %+v; want %+v", got, want)
			}
		})
	}
}

func TestFallBackNeverShortensTheLife(t *testing.T) {
	cases := []struct {
		name      string
		remaining time.Duration
		want      time.Duration // expires_at - now afterwards
	}{
		{"push with 30 s left gets the code's 10 min", 30 * time.Second, codeTTL},
		{"1 ns left", time.Nanosecond, codeTTL},
		{"exactly the code's life left", codeTTL, codeTTL},
		{"more than the code's life left keeps it", 20 * time.Minute, 20 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := approvalIn("pending")
			a.ExpiresAt = t0.Add(c.remaining)
			change, err := approval.FallBack(a, t0, core.ReasonPushFailed, codeTTL)
			if err != nil {
				t.Fatal(err)
			}
			if got := change.ExpiresAt.Sub(t0); got != c.want {
				t.Errorf("expires in %v; want %v", got, c.want)
			}
			if change.Reason != core.ReasonPushFailed {
				t.Errorf("reason %q; want push_failed", change.Reason)
			}
		})
	}
}

func TestSetCodeRecordsHashAndTime(t *testing.T) {
	a := approvalIn("pending")
	a.Channel, a.Reason, a.CodeHash, a.CodeSentAt = core.ChannelSMS, core.ReasonNoDevice, "old-hash", ptr(t0.Add(-time.Minute))
	now := t0.Add(time.Second)
	change, err := approval.SetCode(a, now, "new-hash")
	if err != nil {
		t.Fatal(err)
	}
	if want := (core.CodeSent{CodeHash: "new-hash", At: now}); change != want {
		t.Errorf("change %+v; want %+v", change, want)
	}
}

// TestFinalStatesStayFinal runs every operation on every final state at
// times before, at and long after its expiry: none changes it.
func TestFinalStatesStayFinal(t *testing.T) {
	for _, state := range []string{"approved", "approved and exchanged", "denied", "expired"} {
		for _, op := range stateOps {
			for _, now := range []time.Time{t0.Add(-time.Hour), t0, t0.Add(24 * time.Hour)} {
				a := approvalIn(state)
				before := *a
				_ = op.run(a, now)
				if !reflect.DeepEqual(*a, before) {
					t.Errorf("%s at %v changed a %s approval:\n got %+v\nwant %+v", op.name, now, state, *a, before)
				}
			}
		}
	}
}

// TestViewAt is what every reader shows: the API, the websocket on
// connect, the sweeper's announcements.
func TestViewAt(t *testing.T) {
	announced := ptr(t0.Add(-time.Second))
	cases := []struct {
		name    string
		state   string
		adjust  func(a *core.Approval)
		status  core.ApprovalStatus
		channel core.Channel
		reason  string
	}{
		{"pending push", "pending", func(*core.Approval) {}, core.ApprovalPending, core.ChannelPush, ""},
		{"push whose timeout was announced, not yet moved", "pending",
			func(a *core.Approval) { a.TimeoutAnnouncedAt = announced }, core.ApprovalPending, core.ChannelPush, core.ReasonPushTimeout},
		{"moved to sms for another reason after the timeout", "pending",
			func(a *core.Approval) {
				a.TimeoutAnnouncedAt, a.Channel, a.Reason = announced, core.ChannelSMS, core.ReasonRequested
			}, core.ApprovalPending, core.ChannelSMS, core.ReasonRequested},
		{"pending at its expires_at, not swept", "pending past expiry", func(*core.Approval) {}, core.ApprovalExpired, core.ChannelPush, ""},
		{"swept", "expired", func(*core.Approval) {}, core.ApprovalExpired, core.ChannelPush, ""},
		{"denied keeps its reason", "denied", func(*core.Approval) {}, core.ApprovalDenied, core.ChannelPush, core.ReasonNumberMismatch},
		{"approved has no reason", "approved", func(a *core.Approval) { a.Reason = core.ReasonPushTimeout }, core.ApprovalApproved, core.ChannelPush, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := approvalIn(c.state)
			c.adjust(a)
			a.AppName = "Grafana"
			v := approval.ViewAt(a, t0)
			if v.Status != c.status || v.Channel != c.channel || v.Reason != c.reason || v.MatchNumber != a.MatchNumber || !v.ExpiresAt.Equal(a.ExpiresAt) {
				t.Fatalf("view %+v; want %s on %s, reason %q", v, c.status, c.channel, c.reason)
			}
			if v.AppName != "Grafana" {
				t.Fatalf("view %+v; want the application signed in to", v)
			}
		})
	}
}
