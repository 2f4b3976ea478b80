package approval

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// apply writes change to a, open at now, and a becomes what was written; when
// another instance changed a first, the answer says why it is no longer open.
func (s *Service) apply(ctx context.Context, a *core.Approval, now time.Time, change core.ApprovalChange) error {
	written, err := s.Approvals.UpdatePending(ctx, a.ID, now, change)
	if err != nil || written != nil {
		return s.took(a, written, err)
	}
	return s.whyNotOpen(ctx, a.ID, now, errAlreadyDecided)
}

// approveWithCode is apply for a code's approval, which the store writes
// only while the approval's count of attempts is within the limit.
func (s *Service) approveWithCode(ctx context.Context, a *core.Approval, now time.Time, d core.Decided) error {
	written, err := s.Approvals.ApproveWithCode(ctx, a.ID, now, d)
	if err != nil || written != nil {
		return s.took(a, written, err)
	}
	return s.whyNotOpen(ctx, a.ID, now, errTooManyCodes)
}

// took makes a what a guarded write wrote.
func (s *Service) took(a, written *core.Approval, err error) error {
	if err == nil {
		*a = *written
	}
	return err
}

// whyNotOpen says why a guarded write to approval id found nothing to
// change: the stored approval is expired or decided, or else the write's
// own condition failed (otherwise).
func (s *Service) whyNotOpen(ctx context.Context, id string, now time.Time, otherwise error) error {
	cur, err := s.Approvals.Approval(ctx, id)
	if err != nil {
		return err
	}
	if err := CheckPending(cur, now); err != nil {
		return err
	}
	return otherwise
}
