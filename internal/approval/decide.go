package approval

import (
	"context"
	"sync"
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
	if err := checkCallback(cb); err != nil {
		return "", err
	}
	if !core.HasPrefix(cb.ApprovalID, core.PrefixApproval) {
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	a, err := s.Approvals.Approval(ctx, cb.ApprovalID)
	if err != nil {
		return "", err
	}
	return s.decideCallback(ctx, dev, cb, a)
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

// HandleSignedCallback authenticates a device's callback and decides. The
// approval is read while the device is authenticated (the read has no
// effect and nothing is decided before the signature and the nonce hold):
// on the path from the phone's answer to the browser, every round trip
// saved is latency saved.
func (s *Service) HandleSignedCallback(ctx context.Context, sc SignedCallback) (core.ApprovalStatus, error) {
	var (
		a    *core.Approval
		aErr error
		read sync.WaitGroup
	)
	if core.HasPrefix(sc.Callback.ApprovalID, core.PrefixApproval) {
		read.Go(func() { a, aErr = s.Approvals.Approval(ctx, sc.Callback.ApprovalID) })
	}
	dev, err := s.AuthenticateDevice(ctx, sc.Request, sc.DeviceID)
	read.Wait()
	switch {
	case err != nil:
		return "", err
	case sc.Invalid != nil:
		return "", sc.Invalid
	}
	if err := checkCallback(sc.Callback); err != nil {
		return "", err
	}
	if a == nil && aErr == nil {
		return "", core.Errorf(core.ENotFound, "no such approval")
	}
	if aErr != nil {
		return "", aErr
	}
	return s.decideCallback(ctx, dev, sc.Callback, a)
}

// checkCallback validates what a callback asks for.
func checkCallback(cb Callback) error {
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
	var o Outcome
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
