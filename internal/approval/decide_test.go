package approval_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
)

// wantPending fails unless the stored approval is still pending.
func (f *fixture) wantPending(t *testing.T, id string) {
	t.Helper()
	if a := f.stored(t, id); a.Status != core.ApprovalPending {
		t.Fatalf("approval is %s/%s; want it pending", a.Status, a.Reason)
	}
}

// A number no browser shows is not an answer: 400 on match_number, with a
// deny too, and the approval stays as it was.
func TestCallbackNumberOutsideTwoDigitsIsInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	st := f.start(t, u)
	f.follow(t, st.Approval.ID)
	for _, n := range []int{0, 9, 100} {
		for _, decision := range []string{"approve", "deny"} {
			_, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: decision, MatchNumber: &n})
			if e := wantCode(t, err, core.EInvalidRequest); e.Field != "match_number" {
				t.Fatalf("%s with %d: field %q; want match_number", decision, n, e.Field)
			}
		}
	}
	f.wantFrames(t)
	f.wantPending(t, st.Approval.ID)
	status, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber})
	if err != nil || status != core.ApprovalApproved {
		t.Fatalf("the right number: %s, %v", status, err)
	}
}

// After "this was not me" the next login goes to SMS and shows no number:
// the device, even with the number 0 the approval holds, or any other,
// cannot decide it.
func TestDeviceCannotDecideALoginThatBeganOnSMS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	reported := f.start(t, u)
	_, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: reported.Approval.ID, Decision: "deny", Report: true})
	ok(t, err)

	st := f.start(t, u)
	if st.Approval.Channel != core.ChannelSMS || st.Approval.MatchNumber != 0 {
		t.Fatalf("login after a report: %s, number %d; want sms without one", st.Approval.Channel, st.Approval.MatchNumber)
	}
	f.follow(t, st.Approval.ID)
	zero, some := 0, 42
	_, err = f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &zero})
	wantCode(t, err, core.EInvalidRequest)
	for _, cb := range []approval.Callback{
		{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &some},
		{ApprovalID: st.Approval.ID, Decision: "deny"},
		{ApprovalID: st.Approval.ID, Decision: "deny", Report: true},
	} {
		_, err := f.callback(t, ctx, d, cb)
		wantCode(t, err, core.ENotFound)
	}
	f.wantFrames(t)
	f.wantPending(t, st.Approval.ID)
	if list, err := f.svc.Pending(ctx, d); err != nil || len(list) != 0 {
		t.Fatalf("pull listing = %+v, %v; want nothing", list, err)
	}
	ok(t, f.svc.VerifyCode(ctx, f.stored(t, st.Approval.ID), f.lastCode(t, u.Phone)))
}

// A device enrolled after a push was never offered that login: it can
// neither pull nor decide it (not even deny it by a wrong number), while the
// device that was offered it can; the next login is offered to both.
func TestDeviceEnrolledAfterThePushCannotDecideIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	early, _ := f.device(t, u, "")
	st := f.start(t, u)
	f.follow(t, st.Approval.ID)
	f.clock.Advance(time.Second)
	late, _ := f.device(t, u, "")

	if list, err := f.svc.Pending(ctx, late); err != nil || len(list) != 0 {
		t.Fatalf("the late device pulls %+v, %v; want nothing", list, err)
	}
	if list, err := f.svc.Pending(ctx, early); err != nil || len(list) != 1 || list[0].ApprovalID != st.Approval.ID {
		t.Fatalf("the early device pulls %+v, %v; want the login", list, err)
	}
	right, wrong := st.Approval.MatchNumber, st.Approval.MatchNumber%90+10
	for _, cb := range []approval.Callback{
		{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &right}, // the guarded update refuses it
		{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &wrong}, // decided from the stored approval
		{ApprovalID: st.Approval.ID, Decision: "deny"},
	} {
		_, err := f.callback(t, ctx, late, cb)
		wantCode(t, err, core.ENotFound)
	}
	f.wantFrames(t)
	f.wantPending(t, st.Approval.ID)
	if status, err := f.callback(t, ctx, early, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &right}); err != nil || status != core.ApprovalApproved {
		t.Fatalf("the early device: %s, %v", status, err)
	}

	next := f.start(t, u)
	if list, err := f.svc.Pending(ctx, late); err != nil || len(list) != 1 || list[0].ApprovalID != next.Approval.ID {
		t.Fatalf("the late device pulls %+v, %v; want the next login", list, err)
	}
	if status, err := f.callback(t, ctx, late, approval.Callback{ApprovalID: next.Approval.ID, Decision: "approve", MatchNumber: &next.Approval.MatchNumber}); err != nil || status != core.ApprovalApproved {
		t.Fatalf("the late device on the next login: %s, %v", status, err)
	}
}

// A pushed login that fell back to SMS can still be approved by a device;
// so a new push supersedes it as it does one still on push.
func TestNewPushSupersedesOneThatFellBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	first := f.start(t, u)
	f.follow(t, first.Approval.ID)
	ok(t, f.svc.RequestSMS(ctx, f.stored(t, first.Approval.ID)))
	f.wantFrames(t, published{first.Approval.ID, fallbackFrame(core.ReasonRequested)})

	f.start(t, u)
	f.wantFrames(t, published{first.Approval.ID, statusFrame(core.ApprovalDenied, core.ReasonSuperseded)})
	if a := f.stored(t, first.Approval.ID); a.Status != core.ApprovalDenied || a.Reason != core.ReasonSuperseded {
		t.Fatalf("first login: %s/%s; want denied/superseded", a.Status, a.Reason)
	}
	_, err := f.callback(t, ctx, d, approval.Callback{ApprovalID: first.Approval.ID, Decision: "approve", MatchNumber: &first.Approval.MatchNumber})
	wantCode(t, err, core.EAlreadyDecided)
}
