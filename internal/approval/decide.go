package approval

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// decide takes the decision once and announces it.
func (s *Service) decide(ctx context.Context, a *core.Approval, now time.Time, o Outcome) error {
	return s.decideWith(ctx, s.Approvals.UpdatePending, a, now, o)
}

// decideWith is decide writing through w.
func (s *Service) decideWith(ctx context.Context, w writer, a *core.Approval, now time.Time, o Outcome) error {
	fields, err := Decide(a, now, o)
	if err != nil {
		return err
	}
	if err := s.write(ctx, w, a, now, fields...); err != nil {
		return err
	}
	s.announceDecision(ctx, a)
	kind, detail := decisionEvent(a.Status, a.Reason, a.Method)
	s.Audit.Record(ctx, a.UserID, kind, detail)
	return nil
}

// announceDecision tells the waiting browsers about a decision just
// committed, then writes it to the log.
func (s *Service) announceDecision(ctx context.Context, a *core.Approval) {
	s.publish(ctx, a.ID, StatusFrame(a))
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
}

// HandleSignedCallback authenticates a device's callback and decides.
//
// On the path from the phone's answer to the browser every round trip is
// latency, so the usual answer (the right number, or a deny) takes two: the
// device's key comes from memory when the device is known (deviceKeys), the
// nonce and failure count are settled in Redis meanwhile, and one guarded
// update both checks the approval (pending, offered to this device as
// offeredTo says, this number, the device still enrolled) and decides it.
// Anything else, a wrong number, a decided or expired approval, one not
// offered to this device, a removed device, is sorted out the long way,
// from what the database says, by the same rules.
func (s *Service) HandleSignedCallback(ctx context.Context, sc SignedCallback) (core.ApprovalStatus, error) {
	dev, fromMemory, err := s.authenticate(ctx, sc.Request, sc.DeviceID, true)
	switch {
	case err != nil:
		return "", err
	case sc.Invalid != nil:
		return "", sc.Invalid
	}
	return s.handleCallback(ctx, dev, fromMemory, sc.Callback)
}

// handleCallback decides for an authenticated device: one guarded update
// when the answer is the usual one, else from what the database says. An
// approve with the wrong number denies (number_mismatch): a guess must not
// get a second try. A deny with report pauses pushes for the user.
// fromMemory says the device is remembered (deviceKeys), not read: it may
// have been removed since.
func (s *Service) handleCallback(ctx context.Context, dev *core.Device, fromMemory bool, cb Callback) (core.ApprovalStatus, error) {
	if err := checkCallback(cb); err != nil {
		return "", err
	}
	if !core.HasPrefix(cb.ApprovalID, core.PrefixApproval) {
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	now := s.Clock.Now()
	o := callbackOutcome(cb, dev)
	a := &core.Approval{ID: cb.ApprovalID}
	// The decision, its entry in the trail and the device's last use are
	// written at once: the browser waits for this one statement.
	d := core.DeviceDecision{UserID: dev.UserID, DeviceID: dev.ID}
	status := core.ApprovalDenied
	if o.Approve {
		d.MatchNumber, status = cb.MatchNumber, core.ApprovalApproved
	}
	kind, detail := decisionEvent(status, o.Reason, o.Method)
	d.Event = core.NewEvent(ctx, dev.UserID, kind, detail, now)
	DecideUnread(a, now, o)
	decided, err := s.Approvals.DecideByDevice(ctx, a, now, d)
	if err != nil {
		return "", err
	}
	if decided {
		s.announceDecision(ctx, a)
		return s.afterCallback(ctx, dev, a, o, now, true)
	}
	if fromMemory {
		// Was it removed? The database says.
		if dev, err = s.Devices.Device(ctx, dev.ID); core.IsCode(err, core.ENotFound) {
			return "", errBadSignature
		} else if err != nil {
			return "", err
		}
	}
	if a, err = s.Approvals.Approval(ctx, cb.ApprovalID); err != nil {
		return "", err
	}
	return s.decideCallback(ctx, dev, cb, a)
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

// decideCallback decides a for an authenticated device's valid callback.
func (s *Service) decideCallback(ctx context.Context, dev *core.Device, cb Callback, a *core.Approval) (core.ApprovalStatus, error) {
	if !offeredTo(a, dev) {
		// Another user's, one that began on SMS, one pushed before this
		// device was enrolled: none is the device's to decide, and the
		// answer does not tell them apart.
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	now := s.Clock.Now()
	o := callbackOutcome(cb, dev)
	if o.Approve && (!core.IsMatchNumber(a.MatchNumber) || *cb.MatchNumber != a.MatchNumber) {
		o = Outcome{Reason: core.ReasonNumberMismatch, By: dev.ID}
	}
	if err := s.decide(ctx, a, now, o); err != nil {
		return "", err
	}
	return s.afterCallback(ctx, dev, a, o, now, false)
}

// afterCallback does what follows a device's decision: a report pauses the
// user's pushes, and the device was used (unless touched already).
func (s *Service) afterCallback(ctx context.Context, dev *core.Device, a *core.Approval, o Outcome, now time.Time, touched bool) (core.ApprovalStatus, error) {
	if o.Reason == core.ReasonReported {
		// Only a report that decided a pending login pauses pushes, so a
		// stale report cannot switch a user's pushes off.
		if _, err := s.KV.SetNX(ctx, pushPauseKey(dev.UserID), "1", s.Config.ReportPause); err != nil {
			return "", err
		}
		s.Log.WarnContext(ctx, "login reported as not me; pushes paused", "user_id", dev.UserID, "approval_id", a.ID, "device_id", dev.ID)
	}
	if touched {
		return a.Status, nil
	}
	if err := s.Devices.TouchDevice(ctx, dev.ID, now); err != nil {
		s.Log.WarnContext(ctx, "device last-used not recorded", "device_id", dev.ID, "err", err)
	}
	return a.Status, nil
}
