// Package approval is the pending approval: a pure state machine (this
// file) and the service that starts, falls back, decides, verifies and
// exchanges approvals. Every rule about an approval is here; the store
// writes the changes these functions describe under the conditions they
// state (the store's SQL repeats them, and the tests hold the two together).
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

// expired says whether a is over by time: marked expired, or pending at or
// past its expires_at before any sweeper marked it.
func expired(a *core.Approval, now time.Time) bool {
	return a.Status == core.ApprovalExpired || (a.Status == core.ApprovalPending && !now.Before(a.ExpiresAt))
}

// CheckPending says why a is not open to a change at now: ExpiredError once
// its time is up (even if no sweeper has marked it yet), already_decided once
// decided. nil while it is open (the store's condition for every change).
func CheckPending(a *core.Approval, now time.Time) error {
	switch {
	case expired(a, now):
		return errExpired
	case a.Status != core.ApprovalPending:
		return errAlreadyDecided
	}
	return nil
}

// View is what a reader (the API, the websocket, the poller) sees of an
// approval at a moment.
type View struct {
	Status      core.ApprovalStatus
	Channel     core.Channel
	Reason      string // why it is on its channel while pending; why it was denied
	MatchNumber int
	ExpiresAt   time.Time
	AppName     string // the application signed in to, "" for approvald itself
}

// ViewAt is a as a reader sees it at now: expired once its time is up,
// whether or not the sweeper has marked it; while pending on a push whose
// timeout was announced, the reason is push_timeout even before the
// approval has moved to the code channel.
func ViewAt(a *core.Approval, now time.Time) View {
	v := View{Status: a.Status, Channel: a.Channel, Reason: a.Reason, MatchNumber: a.MatchNumber, ExpiresAt: a.ExpiresAt, AppName: a.AppName}
	switch {
	case expired(a, now):
		v.Status, v.Reason = core.ApprovalExpired, ""
	case a.Status == core.ApprovalPending && v.Reason == "" && a.TimeoutAnnouncedAt != nil:
		v.Reason = core.ReasonPushTimeout
	case a.Status == core.ApprovalApproved:
		v.Reason = ""
	}
	return v
}

// Decide is the decision o on a, open at now.
func Decide(a *core.Approval, now time.Time, o Outcome) (core.Decided, error) {
	if err := CheckPending(a, now); err != nil {
		return core.Decided{}, err
	}
	return decision(now, o), nil
}

// decision is the change o makes, for an approval not read first: the
// store writes it only while the approval is open (DecideByDevice).
func decision(now time.Time, o Outcome) core.Decided {
	if o.Approve {
		return core.Decided{Status: core.ApprovalApproved, Method: o.Method, At: now, By: o.By}
	}
	return core.Decided{Status: core.ApprovalDenied, Reason: o.Reason, At: now, By: o.By}
}

// FallBack moves an open approval to the code channel. Its life becomes
// codeTTL from now, never shorter than it was: a device may still decide
// until the new expires_at.
func FallBack(a *core.Approval, now time.Time, reason string, codeTTL time.Duration) (core.FellBack, error) {
	if err := CheckPending(a, now); err != nil {
		return core.FellBack{}, err
	}
	return core.FellBack{Reason: reason, ExpiresAt: later(a.ExpiresAt, now.Add(codeTTL))}, nil
}

// SetCode records a freshly sent SMS code.
func SetCode(a *core.Approval, now time.Time, codeHash string) (core.CodeSent, error) {
	if err := CheckPending(a, now); err != nil {
		return core.CodeSent{}, err
	}
	return core.CodeSent{CodeHash: codeHash, At: now}, nil
}

// Supersede is what a new push does to the user's open approvals that were
// pushed (supersedable), whatever their channel now: it denies them, so a
// device can approve only the newest login.
func Supersede(now time.Time) core.Decided {
	return decision(now, Outcome{Reason: core.ReasonSuperseded})
}

// supersedable is the condition of SupersedePending for one of the user's
// approvals.
func supersedable(a *core.Approval, now time.Time) bool {
	return CheckPending(a, now) == nil && a.PushSentAt != nil
}

// expireDue is ExpireDue's condition: pending, and its time is up.
func expireDue(a *core.Approval, now time.Time) bool {
	return a.Status == core.ApprovalPending && expired(a, now)
}

// pushTimeoutDue is DuePushTimeouts' condition: an open push approval whose
// push went out at or before sentBefore, not announced yet. It then falls
// back to the code channel with reason push_timeout. A passwordless push
// never does: it is decided on the device or expires.
func pushTimeoutDue(a *core.Approval, sentBefore, now time.Time) bool {
	return CheckPending(a, now) == nil && a.Channel == core.ChannelPush && a.TimeoutAnnouncedAt == nil && a.Passwordless == "" &&
		a.PushSentAt != nil && !a.PushSentAt.After(sentBefore)
}

// ExchangeWindow is how long after its approval a login may still be
// swapped for a session.
const ExchangeWindow = 5 * time.Minute

// CanExchange says whether the approval may be swapped for a session at
// now: approved, not exchanged yet, within ExchangeWindow of its decision.
func CanExchange(a *core.Approval, now time.Time) error {
	switch {
	case expired(a, now):
		return errExpired
	case a.Status != core.ApprovalApproved:
		return core.Errorf(core.ENotApproved, "the login is not approved")
	case a.ExchangedAt != nil:
		return core.Errorf(core.EAlreadyExchanged, "the approval was already exchanged for a session")
	case a.DecidedAt == nil || now.After(a.DecidedAt.Add(ExchangeWindow)):
		return errExpired
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

var (
	errExpired        = core.Errorf(core.EExpired, "the login request has expired; start again")
	errAlreadyDecided = core.Errorf(core.EAlreadyDecided, "the login request was already decided")
	errTooManyCodes   = core.Errorf(core.ELocked, "too many codes were tried for this login; start again")
)
