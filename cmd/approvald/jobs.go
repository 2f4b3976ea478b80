package main

import (
	"context"
	"log/slog"
	"time"
)

// startJobs starts the background work: the approval sweeper, the hub's
// watch of the broker, the reload of the token keys and the metrics
// listener, each adding what stops it to c.
func startJobs(cfg *config, a *adapters, s *services, log *slog.Logger, c *closers) error {
	ctx, stop := context.WithCancel(context.Background())
	c.add(stop)
	go s.approvals.RunSweeper(ctx, cfg.SweepInterval)
	go func() {
		// In the background: a callback meanwhile reads its device.
		if err := s.approvals.LoadDeviceKeys(ctx, a.db); err != nil {
			log.Warn("device keys not loaded", "err", err)
		}
	}()
	go a.hub.Watch(ctx, a.eph, time.Second)
	go a.keys.jwt.ReloadEvery(ctx, cfg.KeyReloadInterval, log)
	for _, ring := range a.keys.idTokenRings() {
		go ring.ReloadEvery(ctx, cfg.KeyReloadInterval, log)
	}
	go a.keys.push.ReloadEvery(ctx, cfg.KeyReloadInterval, log)
	go checkPushKeySwitch(ctx, s, cfg.KeyReloadInterval)
	stopMetrics, err := serveMetrics(cfg, a.metrics, log)
	if err != nil {
		return err
	}
	c.add(stopMetrics)
	return nil
}

// checkPushKeySwitch starts a rotated push key early, every interval, once
// every device has confirmed it (one removed, say, may have been the last
// that had not); a confirmation checks at once too.
func checkPushKeySwitch(ctx context.Context, s *services, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.approvals.CheckPushKeySwitch(ctx)
	}
}
