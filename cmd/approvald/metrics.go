package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/approvald/approvald/internal/metrics"
)

// serveMetrics starts the dedicated metrics listener when METRICS_ADDR is
// set, and returns what stops it.
func serveMetrics(cfg *config, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	srv := m.Server(metrics.ListenerConfig{Token: cfg.MetricsToken, Pprof: cfg.MetricsPprof})
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String(), "pprof", cfg.MetricsPprof)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// mainPortMetricsToken is the token that opens /metrics on ADDR: none when
// the metrics have a listener of their own.
func mainPortMetricsToken(cfg *config) string {
	if cfg.MetricsAddr != "" {
		return ""
	}
	return cfg.MetricsToken
}
