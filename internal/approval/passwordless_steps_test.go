package approval_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/audittest"
	"github.com/approvald/approvald/internal/core"
)

// steps records, in order, the calls a start makes to the database, the
// KV, the limiter and the synchronous audit trail: what the client waits
// for. The same steps for a user and for nobody is the timing class.
type steps struct {
	mu  sync.Mutex
	log []string
}

func (s *steps) add(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, name)
}

func (s *steps) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log
	s.log = nil
	return out
}

type stepApprovals struct {
	core.ApprovalStore
	s *steps
}

func (a stepApprovals) CreateApproval(ctx context.Context, ap *core.Approval) error {
	a.s.add("db: create approval")
	return a.ApprovalStore.CreateApproval(ctx, ap)
}

func (a stepApprovals) UpdatePending(ctx context.Context, id string, now time.Time, c core.ApprovalChange) (*core.Approval, error) {
	a.s.add("db: update approvals")
	return a.ApprovalStore.UpdatePending(ctx, id, now, c)
}

func (a stepApprovals) SupersedePending(ctx context.Context, userID string, now time.Time, d core.Decided) ([]*core.Approval, error) {
	a.s.add("db: update approvals")
	return a.ApprovalStore.SupersedePending(ctx, userID, now, d)
}

func (a stepApprovals) Approval(ctx context.Context, id string) (*core.Approval, error) {
	a.s.add("db: read approval")
	return a.ApprovalStore.Approval(ctx, id)
}

type stepDevices struct {
	core.DeviceStore
	s *steps
}

func (d stepDevices) DevicesByUser(ctx context.Context, userID string) ([]*core.Device, error) {
	d.s.add("db: devices")
	return d.DeviceStore.DevicesByUser(ctx, userID)
}

type stepKV struct {
	core.KV
	s *steps
}

func (k stepKV) Get(ctx context.Context, key string) (string, bool, error) {
	k.s.add("kv: get")
	return k.KV.Get(ctx, key)
}

func (k stepKV) Del(ctx context.Context, key string) error {
	k.s.add("kv: del")
	return k.KV.Del(ctx, key)
}

func (k stepKV) SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	k.s.add("kv: setnx")
	return k.KV.SetNX(ctx, key, value, ttl)
}

type stepLimiter struct {
	core.Limiter
	s *steps
}

func (l stepLimiter) Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, error) {
	l.s.add("limiter: hit")
	return l.Limiter.Hit(ctx, key, limit, window, now)
}

func (l stepLimiter) Check(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, error) {
	l.s.add("limiter: check")
	return l.Limiter.Check(ctx, key, limit, window, now)
}

type stepAudit struct{ s *steps }

func (a stepAudit) Record(context.Context, string, string, string) { a.s.add("db: security event") }

// A passwordless start takes the same steps whether it asks a user or
// nobody (unknown, off, pushes paused): the same reads and writes in the
// same order, and no synchronous security event for either (the user's
// goes through LateAudit, off the request's path).
func TestPasswordlessStartTakesTheSameStepsForEveryone(t *testing.T) {
	eachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var s steps
		late := &audittest.Log{}
		d := f.svc.Deps
		d.Approvals, d.Devices = stepApprovals{d.Approvals, &s}, stepDevices{d.Devices, &s}
		d.KV, d.Limiter, d.Audit, d.LateAudit = stepKV{d.KV, &s}, stepLimiter{d.Limiter, &s}, stepAudit{&s}, late
		svc, err := approval.New(d)
		ok(t, err)
		start := func(u *core.User, mode core.Passwordless) []string {
			t.Helper()
			s.take()
			ident := "someone"
			if u != nil {
				ident = u.ID
			}
			_, err := svc.StartPasswordless(ctx, u, mode, approval.StartInput{IP: "203.0.113.7", Identifier: ident})
			ok(t, err)
			return s.take()
		}
		u := f.user(t)
		f.device(t, u, "https://phone.test/push")
		for _, mode := range []core.Passwordless{core.PasswordlessPush, core.PasswordlessSMS} {
			user, nobody := start(u, mode), start(nil, mode)
			if !slices.Equal(user, nobody) {
				t.Errorf("%s: a user's start takes %q, nobody's %q", mode, user, nobody)
			}
			if slices.Contains(user, "db: security event") {
				t.Errorf("%s: a synchronous security event: %q", mode, user)
			}
		}
		// The push limit reached: asks nobody, in the same steps.
		for range approval.DefaultConfig().PushesPerWindow {
			start(u, core.PasswordlessPush)
		}
		if paused, nobody := start(u, core.PasswordlessPush), start(nil, core.PasswordlessPush); !slices.Equal(paused, nobody) {
			t.Errorf("over the limit %q, nobody %q", paused, nobody)
		}
		if len(late.All()) == 0 {
			t.Error("no security event for the user's starts")
		}
	})
}
