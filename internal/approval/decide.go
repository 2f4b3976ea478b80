package approval

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// decide takes the decision o on a once, announces it and records it.
func (s *Service) decide(ctx context.Context, a *core.Approval, now time.Time, o Outcome) error {
	return s.decideBy(ctx, a, now, o, func(ctx context.Context, a *core.Approval, now time.Time, d core.Decided) error {
		return s.apply(ctx, a, now, d)
	})
}

// decideBy is decide writing through write (apply, or approveWithCode for
// a code's approval).
func (s *Service) decideBy(ctx context.Context, a *core.Approval, now time.Time, o Outcome, write func(context.Context, *core.Approval, time.Time, core.Decided) error) error {
	d, err := Decide(a, now, o)
	if err != nil {
		return err
	}
	if err := write(ctx, a, now, d); err != nil {
		return err
	}
	s.decided(ctx, a, now)
	return nil
}

// decided announces a decision just committed and records it in the trail.
func (s *Service) decided(ctx context.Context, a *core.Approval, now time.Time) {
	s.announceDecision(ctx, a, now)
	kind, detail := decisionEvent(a.Status, a.Reason, a.Method)
	s.Audit.Record(ctx, a.UserID, kind, detail)
}

// announceDecision tells the waiting browsers about a decision just
// committed, then writes it to the log.
func (s *Service) announceDecision(ctx context.Context, a *core.Approval, now time.Time) {
	s.publish(ctx, a.ID, StateFrame(a, now))
	s.announceToDevices(ctx, now, a)
	s.Log.InfoContext(ctx, "approval decided", "approval_id", a.ID, "status", a.Status, "reason", a.Reason, "method", a.Method)
}

// decisionEvent is how the security trail tells of a decision.
func decisionEvent(status core.ApprovalStatus, reason, method string) (kind, detail string) {
	switch {
	case status == core.ApprovalApproved:
		return core.EventApproved, "by " + method
	case reason == core.ReasonReported:
		return core.EventReported, "a login was reported as not the user; pushes paused"
	default:
		return core.EventDenied, reason
	}
}

// Callback is a device's answer to a push.
type Callback struct {
	ApprovalID  string
	Decision    string // "approve" or "deny"
	MatchNumber *int
	Report      bool
}

// SignedCallback is a device's callback as it arrived: the signed request,
// the device the body names, and the body decoded (or why it could not be).
type SignedCallback struct {
	Request  SignedRequest
	DeviceID string
	Callback Callback
	// Invalid is the body's decoding error, told only to a device that
	// authenticated.
	Invalid error
	// PushKID is the push key the device pins (its push_kid), "" when it
	// did not say.
	PushKID string
}

// HandleSignedCallback authenticates a device's callback and decides.
//
// On the path from the phone's answer to the browser every round trip is
// latency, so the usual answer (the right number, or a deny) takes two: the
// device's key comes from memory when the device is known (deviceKeys), the
// nonce and failure count are settled in Redis meanwhile, and one guarded
// statement both checks the approval (open, offered to this device as
// offeredTo says, this number, the device still enrolled) and decides it.
// When that statement decides nothing, the approval and the device, read,
// say why, by the same rules; only a wrong number then decides (a denial).
func (s *Service) HandleSignedCallback(ctx context.Context, sc SignedCallback) (core.ApprovalStatus, error) {
	dev, err := s.authenticate(ctx, sc.Request, sc.DeviceID, true)
	switch {
	case err != nil:
		return "", err
	case sc.Invalid != nil:
		return "", sc.Invalid
	}
	status, err := s.handleCallback(ctx, dev, sc.Callback)
	// After the decision, which the browser is waiting for.
	s.ConfirmPushKey(ctx, dev.ID, sc.PushKID, "?")
	return status, err
}

// handleCallback decides for an authenticated device. An approve with the
// wrong number denies (number_mismatch): a guess must not get a second
// try. A deny with report pauses pushes for the user.
func (s *Service) handleCallback(ctx context.Context, dev *core.Device, cb Callback) (core.ApprovalStatus, error) {
	if err := checkCallback(cb); err != nil {
		return "", err
	}
	if !core.HasPrefix(cb.ApprovalID, core.PrefixApproval) {
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	now := s.Clock.Now()
	o := callbackOutcome(cb, dev)
	number := cb.MatchNumber
	if !o.Approve {
		number = nil
	}
	a, err := s.decideByDevice(ctx, cb.ApprovalID, dev, o, number, now)
	if err != nil || a != nil {
		return statusOf(a), err
	}
	// Nothing was decided: why? A removed device (it may have been known
	// from memory) is not one; then the approval says.
	if dev, err = s.Devices.Device(ctx, dev.ID); core.IsCode(err, core.ENotFound) {
		return "", errBadSignature
	} else if err != nil {
		return "", err
	}
	if a, err = s.Approvals.Approval(ctx, cb.ApprovalID); err != nil {
		return "", err
	}
	if !offeredTo(a, dev) {
		// Another user's, one that began on SMS, one pushed before this
		// device was enrolled: none is the device's to decide, and the
		// answer does not tell them apart.
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	if err := CheckPending(a, now); err != nil {
		return "", err
	}
	if o.Approve {
		// Open and offered: the number was wrong.
		o = Outcome{Reason: core.ReasonNumberMismatch, By: dev.ID}
	}
	a, err = s.decideByDevice(ctx, cb.ApprovalID, dev, o, nil, now)
	if err == nil && a == nil {
		err = errAlreadyDecided // decided meanwhile
	}
	return statusOf(a), err
}

// decideByDevice writes o for dev to approval id in the one guarded
// statement (open, offered to dev, and number when given), with its trail
// entry and the device's last use; it returns the approval as decided, or
// nil when the guard did not hold.
func (s *Service) decideByDevice(ctx context.Context, id string, dev *core.Device, o Outcome, number *int, now time.Time) (*core.Approval, error) {
	d := decision(now, o)
	kind, detail := decisionEvent(d.Status, d.Reason, d.Method)
	a, err := s.Approvals.DecideByDevice(ctx, id, now, core.DeviceDecision{
		Decided: d, UserID: dev.UserID, DeviceID: dev.ID, MatchNumber: number,
		Event: core.NewSecurityEvent(ctx, dev.UserID, kind, detail, now),
	})
	if err != nil || a == nil {
		return nil, err
	}
	s.announceDecision(ctx, a, now)
	if a.Reason == core.ReasonReported {
		// Only a report that decided a pending login pauses pushes, so a
		// stale report cannot switch a user's pushes off.
		if _, err := s.KV.SetNX(ctx, pushPauseKey(dev.UserID), "1", s.Config.ReportPause); err != nil {
			return nil, err
		}
		s.Log.WarnContext(ctx, "login reported as not me; pushes paused", "user_id", dev.UserID, "approval_id", a.ID, "device_id", dev.ID)
	}
	return a, nil
}

func statusOf(a *core.Approval) core.ApprovalStatus {
	if a == nil {
		return ""
	}
	return a.Status
}

// callbackOutcome is what a device's valid callback asks for, before the
// approval is seen: a wrong number turns an approve into a deny, which
// only the approval can tell.
func callbackOutcome(cb Callback, dev *core.Device) Outcome {
	switch {
	case cb.Decision == "deny" && cb.Report:
		return Outcome{Reason: core.ReasonReported, By: dev.ID}
	case cb.Decision == "deny":
		return Outcome{Reason: core.ReasonUserDenied, By: dev.ID}
	default:
		return Outcome{Approve: true, Method: core.MethodPush, By: dev.ID}
	}
}

// checkCallback validates what a callback asks for. A number outside
// 10–99 was never shown to anyone: in particular 0, which an approval that
// began on SMS holds, must not reach the comparison with it.
func checkCallback(cb Callback) error {
	if cb.MatchNumber != nil && !core.IsMatchNumber(*cb.MatchNumber) {
		return core.FieldError(core.EInvalidRequest, "match_number", "match_number must be the two-digit number the browser shows (10–99)")
	}
	switch cb.Decision {
	case "approve":
		if cb.MatchNumber == nil {
			return core.FieldError(core.EInvalidRequest, "match_number", "match_number is required to approve")
		}
	case "deny":
	default:
		return core.FieldError(core.EInvalidRequest, "decision", `decision must be "approve" or "deny"`)
	}
	return nil
}
