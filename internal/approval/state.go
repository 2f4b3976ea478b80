// Package approval is the pending approval: a pure state machine (this
// file) and the service that starts, falls back, decides, verifies and
// exchanges approvals.
package approval

import (
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Outcome is a decision on a pending approval.
type Outcome struct {
	Approve bool
	Reason  string // denial reason; empty for an approval
	Method  string // core.MethodPush, MethodSMS, MethodOTP
	By      string // device id, or "" for a code
}

// CheckPending says why a is not open to a change at now: ExpiredError once
// its time is up (even if no sweeper has marked it yet), already_decided once
// decided. nil while it is pending.
func CheckPending(a *core.Approval, now time.Time) error {
	switch a.Status {
	case core.ApprovalPending:
		if !now.Before(a.ExpiresAt) {
			return errExpired
		}
		return nil
	case core.ApprovalExpired:
		return errExpired
	default:
		return errAlreadyDecided
	}
}

// Decide applies an outcome to a pending approval and returns the changed
// fields for a conditional update.
func Decide(a *core.Approval, now time.Time, o Outcome) ([]string, error) {
	if err := CheckPending(a, now); err != nil {
		return nil, err
	}
	return DecideUnread(a, now, o), nil
}

// DecideUnread is Decide for an approval not read first: the fields it
// returns must be written by an update that requires the approval to be
// pending and unexpired (core.ApprovalStore.DecideByDevice writes these).
func DecideUnread(a *core.Approval, now time.Time, o Outcome) []string {
	if o.Approve {
		a.Status, a.Reason, a.Method = core.ApprovalApproved, "", o.Method
	} else {
		a.Status, a.Reason, a.Method = core.ApprovalDenied, o.Reason, ""
	}
	a.DecidedAt, a.DecidedBy = &now, o.By
	return []string{"Status", "Reason", "Method", "DecidedAt", "DecidedBy"}
}

// FallBack moves a pending approval to the SMS channel. Its life becomes
// codeTTL from now, never shorter than it was: a device may still decide
// until the new expires_at.
func FallBack(a *core.Approval, now time.Time, reason string, codeTTL time.Duration) ([]string, error) {
	if err := CheckPending(a, now); err != nil {
		return nil, err
	}
	a.Channel, a.Reason = core.ChannelSMS, reason
	if exp := now.Add(codeTTL); exp.After(a.ExpiresAt) {
		a.ExpiresAt = exp
	}
	return []string{"Channel", "Reason", "ExpiresAt"}, nil
}

// SetCode records a freshly sent SMS code.
func SetCode(a *core.Approval, now time.Time, codeHash string) ([]string, error) {
	if err := CheckPending(a, now); err != nil {
		return nil, err
	}
	a.CodeHash, a.CodeSentAt = codeHash, &now
	return []string{"CodeHash", "CodeSentAt"}, nil
}

// CanExchange says whether the approval may be swapped for a session now.
func CanExchange(a *core.Approval) error {
	switch {
	case a.Status == core.ApprovalExpired:
		return errExpired
	case a.Status != core.ApprovalApproved:
		return core.Errorf(core.ENotApproved, "the login is not approved")
	case a.ExchangedAt != nil:
		return core.Errorf(core.EAlreadyExchanged, "the approval was already exchanged for a session")
	}
	return nil
}

var (
	errExpired        = core.Errorf(core.EExpired, "the login request has expired; start again")
	errAlreadyDecided = core.Errorf(core.EAlreadyDecided, "the login request was already decided")
	errTooManyCodes   = core.Errorf(core.ELocked, "too many codes were tried for this login; start again")
)
