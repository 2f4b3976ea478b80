package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/httpapi"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/inmem"
	"github.com/approvald/approvald/internal/metrics"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/password"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/sms"
	"github.com/approvald/approvald/internal/store"
)

// ephemeral is the short-lived state: Redis, or the in-process twin.
type ephemeral interface {
	core.KV
	core.Limiter
	core.Broker
	Close() error
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

// build opens the adapters, builds the services and returns the HTTP app
// with a cleanup that closes what build opened.
func build(ctx context.Context, cfg *config, db *store.DB, log *slog.Logger, stdout io.Writer, closing <-chan struct{}) (*fiber.App, func(), error) {
	clock := core.SystemClock{}
	secret, err := loadSecretKey(cfg, db.Dialect())
	if err != nil {
		return nil, nil, err
	}
	eph, err := openEphemeral(ctx, cfg, clock)
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { eph.Close() }
	m := metrics.New()

	sender, err := sms.FromConfig(sms.Config{
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
	if err != nil {
		cleanup()
		return nil, nil, err
	}

	keys, err := signingKeys(cfg, secret, db)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	jwtKeys, err := session.LoadKeyring(ctx, keys, core.KeyJWT, clock)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("signing key: %w", err)
	}
	tokens, err := session.NewService(session.Config{Issuer: cfg.PublicURL}, jwtKeys, db, clock)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	hasher := password.New(password.Params{}, runtime.GOMAXPROCS(0))
	codes := otp.NewCodeHasher(subkey(secret, "sms-codes"))
	box, err := sealingBox(secret, cfg.PreviousSecretKeys, "totp-secrets")
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	audit := &store.Auditor{Events: db, Clock: clock, Log: log}
	loginAudit := store.NewAuditQueue(db, clock, log, 4096)
	closeBefore := cleanup
	cleanup = func() { loginAudit.Close(); closeBefore() }
	texts := &account.Texter{
		SMS: m.SMS(sender), Limiter: eph, Audit: audit, Clock: clock, Limits: cfg.Limits.SMS,
		Phones: cfg.SMSPolicy, Count: m.SMSCode, Log: log,
	}
	accounts, err := account.New(account.Deps{
		Users: db, Devices: db, Hasher: hasher, Codes: codes, Texts: texts, KV: eph, Limiter: eph,
		Audit: audit, LoginAudit: loginAudit, Limits: cfg.Limits.Account, Clock: clock, Log: log, CodeTTL: cfg.CodeTTL,
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}

	pushKeys, err := session.LoadKeyring(ctx, keys, core.KeyPush, clock)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("push key: %w", err)
	}
	_, serverKey := pushKeys.Active()
	pushPolicy := cfg.pushPolicy()
	pusher, err := push.New(push.Config{ServerKey: serverKey, Policy: pushPolicy})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	devices, err := device.New(device.Deps{
		Devices: db, Users: db, Secrets: box, Notices: texts, ServerKey: serverKey.Public().(ed25519.PublicKey),
		Limiter: eph, Audit: audit, Limits: cfg.Limits.Device,
		Clock: clock, Log: log, ValidatePushURL: pushPolicy.ValidatePushURL,
	})
	if err != nil {
		pusher.Close()
		cleanup()
		return nil, nil, err
	}
	acfg := cfg.Limits.Approval
	acfg.ApprovalTTL, acfg.PushTimeout, acfg.CodeTTL = cfg.ApprovalTTL, cfg.PushTimeout, cfg.CodeTTL
	acfg.CallbackURL = cfg.PublicURL + "/api/v1/callbacks/approval"
	h, err := hub.New(ctx, eph, log)
	if err != nil {
		pusher.Close()
		cleanup()
		return nil, nil, fmt.Errorf("broker: %w", err)
	}
	approvals, err := approval.New(approval.Deps{
		Config: acfg, Approvals: m.Approvals(db), Devices: db, Users: db, Broker: eph, KV: eph, Limiter: eph,
		Texts: texts, Codes: codes, Pusher: m.Pushes(pusher), Secrets: box, Tokens: tokens, Audit: audit, Clock: clock, Log: log,
		ServerKey: serverKey, Local: h,
	})
	if err != nil {
		h.Close()
		pusher.Close()
		cleanup()
		return nil, nil, err
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	go approvals.RunSweeper(sweepCtx, cfg.SweepInterval)
	go h.Watch(sweepCtx, eph, time.Second)
	go jwtKeys.ReloadEvery(sweepCtx, cfg.KeyReloadInterval, log)
	m.WatchHub(h.Resubscribed, h.Waiting)
	stopMetrics, err := serveMetrics(cfg, m, log)
	if err != nil {
		stopSweep()
		h.Close()
		pusher.Close()
		cleanup()
		return nil, nil, err
	}
	closeEph := cleanup
	cleanup = func() { stopMetrics(); stopSweep(); h.Close(); pusher.Close(); closeEph() }

	var ready []httpapi.Dependency
	ready = append(ready, httpapi.Dependency{Name: "database", Pinger: db})
	if cfg.RedisURL != "" {
		ready = append(ready, httpapi.Dependency{Name: "redis", Pinger: eph})
	}
	app := httpapi.NewServer(httpapi.Config{
		PublicURL: cfg.PublicURL, AllowedOrigins: cfg.AllowedOrigins, TrustedProxies: cfg.TrustedProxies,
		Websockets: cfg.Limits.Websockets, MetricsToken: mainPortMetricsToken(cfg),
	}, httpapi.Deps{
		Accounts:  accounts,
		Tokens:    tokens,
		Approvals: approvals,
		Devices:   devices,
		Hub:       h,
		Store:     db,
		Events:    db,
		Audit:     audit,
		JWKS:      jwtKeys.JWKS,
		Ready:     ready,
		Clock:     clock,
		Log:       log,
		Closing:   closing,
		Metrics:   m,
	})
	return app, cleanup, nil
}

// signingKeys is the database's signing keys, sealed under SECRET_KEY.
func signingKeys(cfg *config, secret []byte, db *store.DB) (session.SealedKeys, error) {
	box, err := sealingBox(secret, cfg.PreviousSecretKeys, "signing-keys")
	if err != nil {
		return session.SealedKeys{}, err
	}
	return session.SealedKeys{Store: db, Box: box}, nil
}

// sealingBox seals with SECRET_KEY's subkey for purpose and opens with
// those of SECRET_KEYS_PREVIOUS too.
func sealingBox(secret []byte, previousSecrets [][]byte, purpose string) (*secretbox.Box, error) {
	var previous [][]byte
	for _, k := range previousSecrets {
		previous = append(previous, subkey(k, purpose))
	}
	return secretbox.New(subkey(secret, purpose), previous...)
}

// subkey derives an independent key for one use from the server secret.
func subkey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("approvald/" + purpose))
	return m.Sum(nil)
}
