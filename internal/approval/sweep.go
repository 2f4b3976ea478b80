package approval

import (
	"context"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Sweep announces what time has decided: approvals past expires_at become
// expired, pushes pending past PUSH_TIMEOUT are announced push_timeout. Every
// instance sweeps; the store hands each row to exactly one of them, so an
// approval's expiry is announced even when the instance that started it died.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.Clock.Now()
	expired, err := s.Approvals.ExpireDue(ctx, now, 500)
	if err != nil {
		return err
	}
	for _, a := range expired {
		s.publish(ctx, a.ID, StateFrame(a, now))
	}
	s.announceToDevices(ctx, now, expired...)
	timedOut, err := s.Approvals.DuePushTimeouts(ctx, now.Add(-s.Config.PushTimeout), now, 500)
	if err != nil {
		return err
	}
	for _, a := range timedOut {
		// The login moves to the code channel (the browser shows the code
		// form and may ask for an SMS); no SMS is sent until it asks. The
		// device may still decide until the new expires_at.
		change, err := FallBack(a, now, core.ReasonPushTimeout, s.Config.CodeTTL)
		if err == nil {
			err = s.apply(ctx, a, now, change)
		}
		if err != nil {
			continue // decided or expired meanwhile: nothing to announce
		}
		s.publish(ctx, a.ID, fallbackFrame(core.ReasonPushTimeout))
		s.announceToDevices(ctx, now, a) // its new expires_at
	}
	return nil
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.Log.WarnContext(ctx, "sweep failed", "err", err)
			}
		}
	}
}
