package approval

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// decide takes the decision once and announces it.
func (s *Service) decide(ctx context.Context, a *core.Approval, now time.Time, o Outcome) error {
	fields, err := Decide(a, now, o)
	if err != nil {
		return err
	}
	if err := s.update(ctx, a, now, fields...); err != nil {
		return err
	}
	// Announce first: the decision is committed, and the waiting browser
	// should not wait for the audit trail's insert as well.
	s.publish(ctx, a.ID, StatusFrame(a))
	s.Log.InfoContext(ctx, "approval decided", "approval_id", a.ID, "status", a.Status, "reason", a.Reason, "method", a.Method)
	switch {
	case a.Status == core.ApprovalApproved:
		s.Audit.Record(ctx, a.UserID, core.EventApproved, "by "+a.Method)
	case a.Reason == core.ReasonReported:
		s.Audit.Record(ctx, a.UserID, core.EventReported, "a login was reported as not the user; pushes paused")
	default:
		s.Audit.Record(ctx, a.UserID, core.EventDenied, a.Reason)
	}
	return nil
}

// Callback is a device's answer to a push.
type Callback struct {
	ApprovalID  string
	Decision    string // "approve" or "deny"
	MatchNumber *int
	Report      bool
}

// HandleCallback decides an approval for an authenticated device. An approve
// with the wrong number denies (number_mismatch): a guess must not get a
// second try. A deny with report pauses pushes for the user.
func (s *Service) HandleCallback(ctx context.Context, dev *core.Device, cb Callback) (core.ApprovalStatus, error) {
	var o Outcome
	switch cb.Decision {
	case "approve":
		if cb.MatchNumber == nil {
			return "", core.FieldError(core.EInvalidRequest, "match_number", "match_number is required to approve")
		}
	case "deny":
	default:
		return "", core.FieldError(core.EInvalidRequest, "decision", `decision must be "approve" or "deny"`)
	}
	if !core.HasPrefix(cb.ApprovalID, core.PrefixApproval) {
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	a, err := s.Approvals.Approval(ctx, cb.ApprovalID)
	if err != nil {
		return "", err
	}
	if a.UserID != dev.UserID {
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	now := s.Clock.Now()
	switch {
	case cb.Decision == "deny" && cb.Report:
		o = Outcome{Reason: core.ReasonReported, By: dev.ID}
	case cb.Decision == "deny":
		o = Outcome{Reason: core.ReasonUserDenied, By: dev.ID}
	case a.MatchNumber == 0 || *cb.MatchNumber != a.MatchNumber:
		o = Outcome{Reason: core.ReasonNumberMismatch, By: dev.ID}
	default:
		o = Outcome{Approve: true, Method: core.MethodPush, By: dev.ID}
	}
	if err := s.decide(ctx, a, now, o); err != nil {
		return "", err
	}
	if o.Reason == core.ReasonReported {
		// Only a report that decided a pending login pauses pushes, so a
		// stale report cannot switch a user's pushes off.
		if _, err := s.KV.SetNX(ctx, pushPauseKey(dev.UserID), "1", s.Config.ReportPause); err != nil {
			return "", err
		}
		s.Log.WarnContext(ctx, "login reported as not me; pushes paused", "user_id", dev.UserID, "approval_id", a.ID, "device_id", dev.ID)
	}
	if err := s.Devices.TouchDevice(ctx, dev.ID, now); err != nil {
		s.Log.WarnContext(ctx, "device last-used not recorded", "device_id", dev.ID, "err", err)
	}
	return a.Status, nil
}
