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
	return s.written(ctx, a, now, written, err)
}

// approveWithCode is apply for a code's approval, which the store writes
// only while the approval's count of attempts is within the limit.
func (s *Service) approveWithCode(ctx context.Context, a *core.Approval, now time.Time, d core.Decided) error {
	written, err := s.Approvals.ApproveWithCode(ctx, a.ID, now, d)
	return s.written(ctx, a, now, written, err)
}

// written finishes a guarded write: a becomes the approval as written,
// or, when nothing was, the approval as stored says why.
func (s *Service) written(ctx context.Context, a *core.Approval, now time.Time, written *core.Approval, err error) error {
	if err != nil {
		return err
	}
	if written != nil {
		*a = *written
		return nil
	}
	cur, err := s.Approvals.Approval(ctx, a.ID)
	if err != nil {
		return err
	}
	if err := CheckPending(cur, now); err != nil {
		return err
	}
	if cur.Attempts > core.MaxCodeAttempts {
		return errTooManyCodes
	}
	return errAlreadyDecided
}
