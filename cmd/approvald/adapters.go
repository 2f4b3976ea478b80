package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/approvald/approvald/internal/clientcontext"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/inmem"
	"github.com/approvald/approvald/internal/metrics"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/sms"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/webpush"
)

// ephemeral is the short-lived state: Redis, or the in-process twin.
type ephemeral interface {
	core.KV
	core.Limiter
	core.Broker
	Close() error
}

// adapters are what the services run on.
type adapters struct {
	clock   core.Clock
	db      *store.DB
	eph     ephemeral
	keys    *keys
	metrics *metrics.Metrics
	sms     core.SMSSender
	// pushPolicy is where pushes may go, for the push client and the
	// push_url check of enrollment alike.
	pushPolicy push.Policy
	pusher     *push.Client
	webPusher  *webpush.Client
	hub        *hub.Hub
	audit      *store.Auditor
	// loginAudit records refused logins off the request's path.
	loginAudit *store.AuditQueue
	// locator names the place of an address (GEOIP_DB); nil without one.
	locator *clientcontext.Locator
}

// openAdapters opens what the services run on, each adding its closer to c.
func openAdapters(ctx context.Context, cfg *config, db *store.DB, log *slog.Logger, stdout io.Writer, c *closers) (*adapters, error) {
	a := &adapters{clock: core.SystemClock{}, db: db, metrics: metrics.New(), pushPolicy: cfg.pushPolicy()}
	clientcontext.Prepare()
	// First: a wrong path is a setting to fix, found before anything else
	// is opened.
	if cfg.GeoIPDB != "" {
		l, err := clientcontext.OpenLocator(cfg.GeoIPDB)
		if err != nil {
			return nil, &configError{"GEOIP_DB", fmt.Sprintf("%q: %v", cfg.GeoIPDB, err)}
		}
		a.locator = l
		c.add(func() { _ = l.Close() })
	}
	secret, err := loadSecretKey(cfg, db.Dialect())
	if err != nil {
		return nil, err
	}
	if err := applyClientsFile(ctx, cfg, db, secret, a.clock, log); err != nil {
		return nil, err
	}
	if a.eph, err = openEphemeral(ctx, cfg, a.clock); err != nil {
		return nil, err
	}
	c.add(func() { a.eph.Close() })
	if a.sms, err = openSMS(cfg, stdout); err != nil {
		return nil, err
	}
	if a.keys, err = loadKeys(ctx, cfg, secret, db, a.clock); err != nil {
		return nil, err
	}
	a.audit = &store.Auditor{Events: db, Clock: a.clock, Log: log}
	a.loginAudit = store.NewAuditQueue(db, a.clock, log, 4096)
	c.add(a.loginAudit.Close)
	if a.pusher, err = push.New(push.Config{Keys: a.keys.push, Policy: a.pushPolicy}); err != nil {
		return nil, err
	}
	c.add(a.pusher.Close)
	if a.webPusher, err = webpush.New(webpush.Config{
		Keys: a.keys.push, VAPID: a.keys.vapid, Subject: cfg.vapidSubject(), Policy: a.pushPolicy,
	}); err != nil {
		return nil, err
	}
	c.add(a.webPusher.Close)
	if a.hub, err = hub.New(ctx, a.eph, log); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	c.add(func() { a.hub.Close() })
	a.metrics.WatchHub(a.hub.Resubscribed, a.hub.Waiting)
	a.metrics.WatchPools(poolStats(db, a.eph))
	return a, nil
}

// poolStats reads the database's and Redis's pool counts for metrics
// (Redis's func is nil without Redis).
func poolStats(db *store.DB, eph ephemeral) (dbStats, redisStats func() metrics.PoolStats) {
	dbStats = func() metrics.PoolStats {
		s := db.PoolStats()
		return metrics.PoolStats{InUse: s.InUse, Open: s.OpenConnections, Waits: uint64(s.WaitCount), WaitDuration: s.WaitDuration}
	}
	if r, ok := eph.(*redis.Client); ok {
		redisStats = func() metrics.PoolStats {
			s := r.PoolStats()
			return metrics.PoolStats{
				InUse: int(s.TotalConns - s.IdleConns), Open: int(s.TotalConns),
				Waits: uint64(s.WaitCount), WaitDuration: time.Duration(s.WaitDurationNs), Timeouts: uint64(s.Timeouts),
			}
		}
	}
	return dbStats, redisStats
}

func openDatabase(ctx context.Context, cfg *config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return db, nil
}

func openEphemeral(ctx context.Context, cfg *config, clock core.Clock) (ephemeral, error) {
	if cfg.RedisURL == "" {
		return inmem.New(clock), nil
	}
	r, err := redis.Open(ctx, cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return r, nil
}

// openSMS is the sender SMS_PROVIDER names; console prints to stdout.
func openSMS(cfg *config, stdout io.Writer) (core.SMSSender, error) {
	return sms.FromConfig(sms.Config{
		Provider:         cfg.SMSProvider,
		WebhookURL:       cfg.SMSWebhookURL,
		TwilioAccountSID: cfg.TwilioAccountSID,
		TwilioAuthToken:  cfg.TwilioAuthToken,
		TwilioFrom:       cfg.TwilioFrom,
		TwilioBaseURL:    cfg.TwilioBaseURL,
		YunpianAPIKey:    cfg.YunpianAPIKey,
		YunpianBaseURL:   cfg.YunpianBaseURL,
		Timeout:          cfg.SMSTimeout,
	}, stdout)
}
