package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/approvald/approvald/internal/httpapi"
)

// run is the whole program; main only calls it, and tests call it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	command := "serve"
	if len(args) > 1 {
		command = args[1]
	}
	switch command {
	case "serve", "migrate", "healthcheck", "rotate-key", "clients":
	default:
		return fmt.Errorf("unknown command %q (use serve, migrate, rotate-key, clients or healthcheck)", command)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if command == "healthcheck" {
		return healthcheck(ctx, cfg.Addr)
	}
	if command == "serve" {
		// Before connecting to anything: a missing setting is the answer.
		if err := cfg.requireSMSProvider(); err != nil {
			return err
		}
	}
	log := newLogger(stderr, cfg.LogLevel)

	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if command == "migrate" {
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	}
	if command == "rotate-key" {
		return rotateKey(ctx, cfg, db, args[2:], stdout)
	}
	if command == "clients" {
		return clientsCommand(ctx, cfg, db, args[2:], stdout, stderr)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR: %w", err)
	}
	cfg.setPublicURL(ln.Addr().String())
	if err := cfg.checkCookieDomain(); err != nil {
		ln.Close()
		return err
	}

	closing := make(chan struct{})
	app, cleanup, err := build(ctx, cfg, db, log, stdout, closing)
	if err != nil {
		ln.Close()
		return err
	}
	defer cleanup()

	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	fmt.Fprintf(stdout, "approvald is listening on %s — open %s\n", ln.Addr(), cfg.PublicURL)
	log.Info("started", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "database", db.Dialect(), "redis", cfg.RedisURL != "",
		"sms_provider", cfg.SMSProvider, "sms_countries", smsCountries(cfg))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	close(closing)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.ShutdownWithContext(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// smsCountries says where codes may be texted, for the start-up line.
func smsCountries(cfg *config) string {
	if c := cfg.SMSPolicy.Countries(); c != nil {
		return strings.Join(c, ",")
	}
	return "all (set SMS_COUNTRIES)"
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(httpapi.ContextHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})})
}
