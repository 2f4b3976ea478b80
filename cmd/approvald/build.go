package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/httpapi"
	"github.com/approvald/approvald/internal/store"
)

// build opens the adapters (adapters.go), builds the services on them
// (services.go), starts the background jobs (jobs.go) and returns the HTTP
// app, with closeAll, which stops and closes all build started and opened,
// the last first. On an error build has closed it all itself.
func build(ctx context.Context, cfg *config, db *store.DB, log *slog.Logger, stdout io.Writer, closing <-chan struct{}) (app *fiber.App, closeAll func(), err error) {
	var c closers
	defer func() {
		if err != nil {
			c.closeAll()
		}
	}()
	a, err := openAdapters(ctx, cfg, db, log, stdout, &c)
	if err != nil {
		return nil, nil, err
	}
	s, err := newServices(cfg, a, log)
	if err != nil {
		return nil, nil, err
	}
	if err = startJobs(cfg, a, s, log, &c); err != nil {
		return nil, nil, err
	}
	return newApp(cfg, a, s, log, closing), c.closeAll, nil
}

// newApp is the HTTP app on the services.
func newApp(cfg *config, a *adapters, s *services, log *slog.Logger, closing <-chan struct{}) *fiber.App {
	ready := []httpapi.Dependency{{Name: "database", Pinger: a.db}}
	if cfg.RedisURL != "" {
		ready = append(ready, httpapi.Dependency{Name: "redis", Pinger: a.eph})
	}
	return httpapi.NewServer(httpapi.Config{
		PublicURL: cfg.PublicURL, AllowedOrigins: cfg.AllowedOrigins, TrustedProxies: cfg.TrustedProxies,
		Websockets: cfg.Limits.Websockets, MetricsToken: mainPortMetricsToken(cfg),
	}, httpapi.Deps{
		Accounts:  s.accounts,
		Tokens:    s.tokens,
		Approvals: s.approvals,
		Devices:   s.devices,
		Passkeys:  s.passkeys,
		Hub:       a.hub,
		Store:     a.db,
		Events:    a.db,
		Locator:   a.locator,
		Audit:     a.audit,
		JWKS:      a.keys.jwt.JWKS,
		Ready:     ready,
		Clock:     a.clock,
		Log:       log,
		Closing:   closing,
		Metrics:   a.metrics,
		OIDC:      s.oidc,
		// The provider names the application of a login that comes from it.
		AuthRequests: s.oidc,
		SSO:          s.sso,
		Users:        a.db,
	})
}
