package metrics

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// The decorators below count at the edge a service already calls, so the
// services themselves carry no metrics code. Each returns its argument
// unchanged on a nil *Metrics.

// Approvals counts approvals where their state is committed: a created
// approval is a start; a guarded update that wrote a decision (a code's
// or a device's among them), a superseded push and a swept expiry are decisions.
// The store's conditional update lets exactly one writer win, so each
// approval is counted once even when several instances race to decide it.
func (m *Metrics) Approvals(s core.ApprovalStore) core.ApprovalStore {
	if m == nil {
		return s
	}
	return &countedApprovals{ApprovalStore: s, m: m}
}

type countedApprovals struct {
	core.ApprovalStore
	m *Metrics
}

func (c *countedApprovals) CreateApproval(ctx context.Context, a *core.Approval) error {
	err := c.ApprovalStore.CreateApproval(ctx, a)
	if err == nil {
		c.m.approvalStarted(string(a.Channel))
	}
	return err
}

func (c *countedApprovals) UpdatePending(ctx context.Context, id string, now time.Time, change core.ApprovalChange) (*core.Approval, error) {
	a, err := c.ApprovalStore.UpdatePending(ctx, id, now, change)
	if _, decision := change.(core.Decided); decision && a != nil && err == nil {
		c.countDecided(a)
	}
	return a, err
}

func (c *countedApprovals) ApproveWithCode(ctx context.Context, id string, now time.Time, d core.Decided) (*core.Approval, error) {
	a, err := c.ApprovalStore.ApproveWithCode(ctx, id, now, d)
	if a != nil && err == nil {
		c.countDecided(a)
	}
	return a, err
}

func (c *countedApprovals) DecideByDevice(ctx context.Context, id string, now time.Time, d core.DeviceDecision) (*core.Approval, error) {
	a, err := c.ApprovalStore.DecideByDevice(ctx, id, now, d)
	if a != nil && err == nil {
		c.countDecided(a)
	}
	return a, err
}

// countDecided counts a, just written, when it left pending.
func (c *countedApprovals) countDecided(a *core.Approval) {
	if a.Status != core.ApprovalPending {
		c.m.approvalsDecidedAdd(string(a.Channel), string(a.Status), 1)
	}
}

func (c *countedApprovals) SupersedePending(ctx context.Context, userID string, now time.Time, d core.Decided) ([]*core.Approval, error) {
	superseded, err := c.ApprovalStore.SupersedePending(ctx, userID, now, d)
	if err == nil {
		// Pushed ones, some of them fallen back to sms since.
		for _, a := range superseded {
			c.countDecided(a)
		}
	}
	return superseded, err
}

func (c *countedApprovals) ExpireDue(ctx context.Context, now time.Time, limit int) ([]*core.Approval, error) {
	expired, err := c.ApprovalStore.ExpireDue(ctx, now, limit)
	if err == nil {
		for _, a := range expired {
			c.m.approvalsDecidedAdd(string(a.Channel), OutcomeExpired, 1)
		}
	}
	return expired, err
}

// Pusher is the push client as the approval service uses it.
type Pusher interface {
	Send(ctx context.Context, pushURL string, payload []byte) error
}

// Pushes counts each push by its final result (after the client's retries).
func (m *Metrics) Pushes(p Pusher) Pusher {
	if m == nil {
		return p
	}
	return countedPusher{p: p, m: m}
}

type countedPusher struct {
	p Pusher
	m *Metrics
}

func (c countedPusher) Send(ctx context.Context, pushURL string, payload []byte) error {
	err := c.p.Send(ctx, pushURL, payload)
	c.m.pushes.WithLabelValues(result(err)).Inc()
	return err
}

// WebPusher is approval.WebPusher.
type WebPusher interface {
	SendWebPush(ctx context.Context, deviceID string, sub core.WebPush, payload []byte, ttl time.Duration) error
}

// WebPushes counts each Web Push in pushes_total, beside the push_url ones.
func (m *Metrics) WebPushes(p WebPusher) WebPusher {
	if m == nil {
		return p
	}
	return countedWebPusher{p: p, m: m}
}

type countedWebPusher struct {
	p WebPusher
	m *Metrics
}

func (c countedWebPusher) SendWebPush(ctx context.Context, deviceID string, sub core.WebPush, payload []byte, ttl time.Duration) error {
	err := c.p.SendWebPush(ctx, deviceID, sub, payload, ttl)
	c.m.pushes.WithLabelValues(result(err)).Inc()
	return err
}

// SMS counts each message handed to the provider by its result.
func (m *Metrics) SMS(s core.SMSSender) core.SMSSender {
	if m == nil {
		return s
	}
	return countedSMS{s: s, m: m}
}

type countedSMS struct {
	s core.SMSSender
	m *Metrics
}

func (c countedSMS) Send(ctx context.Context, to, body string) error {
	err := c.s.Send(ctx, to, body)
	c.m.sms.WithLabelValues(result(err)).Inc()
	return err
}
