package main

import (
	"crypto/ed25519"
	"log/slog"
	"net/url"
	"runtime"
	"strings"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/oidcprovider"
	"github.com/approvald/approvald/internal/passkey"
	"github.com/approvald/approvald/internal/password"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/sso"
	"github.com/approvald/approvald/internal/texts"
)

// services are what the routes call.
type services struct {
	tokens    *session.Service
	accounts  *account.Service
	devices   *device.Service
	passkeys  *passkey.Service
	approvals *approval.Service
	sso       *sso.Cookies
	oidc      *oidcprovider.Provider
}

// newServices builds the services on a. They open nothing of their own:
// what they run on is closed with the adapters.
func newServices(cfg *config, a *adapters, log *slog.Logger) (*services, error) {
	s := &services{}
	var err error
	if s.tokens, err = session.NewService(session.Config{Issuer: cfg.PublicURL}, a.keys.jwt, a.db, a.clock); err != nil {
		return nil, err
	}
	texts := &texts.Texter{
		SMS: a.metrics.SMS(a.sms), Limiter: a.eph, Audit: a.audit, Clock: a.clock, Limits: cfg.Limits.SMS,
		Phones: cfg.SMSPolicy, Count: a.metrics.SMSCode, Log: log,
	}
	s.accounts, err = account.New(account.Deps{
		Users: a.db, Devices: a.db, Hasher: password.New(password.Params{}, runtime.GOMAXPROCS(0)), Codes: a.keys.codes,
		Texts: texts, KV: a.eph, Limiter: a.eph, Audit: a.audit, LoginAudit: a.loginAudit,
		Limits: cfg.Limits.Account, Clock: a.clock, Log: log, CodeTTL: cfg.CodeTTL,
		PasswordlessSMS: cfg.PasswordlessSMS,
	})
	if err != nil {
		return nil, err
	}
	s.devices, err = device.New(device.Deps{
		Devices: a.db, Users: a.db, Secrets: a.keys.totp, Notices: texts, ServerKey: a.keys.server.Public().(ed25519.PublicKey), PushKeys: a.keys.push,
		Limiter: a.eph, Audit: a.audit, Limits: cfg.Limits.Device, Clock: a.clock, Log: log,
		ValidatePushURL: a.pushPolicy.ValidatePushURL, ValidateEndpoint: a.pushPolicy.ValidateEndpoint,
		VAPIDPublicKey: a.webPusher.PublicKey(),
	})
	if err != nil {
		return nil, err
	}
	s.passkeys, err = passkey.New(passkey.Config{PublicURL: cfg.PublicURL, ExtraOrigins: cfg.WebAuthnOrigins}, passkey.Deps{
		Passkeys: a.db, Users: a.db, KV: a.eph, Limiter: a.eph, Tokens: s.tokens, Notices: texts, Audit: a.audit,
		Limits: cfg.Limits.Passkey, Clock: a.clock, Log: log,
	})
	if err != nil {
		return nil, err
	}
	if !s.passkeys.Enabled() {
		log.Info("passkeys are off: PUBLIC_URL's host is an IP address, which cannot be a WebAuthn RP ID", "public_url", cfg.PublicURL)
	}
	s.approvals, err = approval.New(approval.Deps{
		Config: approvalConfig(cfg), Approvals: a.metrics.Approvals(a.db), Devices: a.db, Users: a.db,
		Broker: a.eph, KV: a.eph, Limiter: a.eph, Texts: texts, Codes: a.keys.codes, Pusher: a.metrics.Pushes(a.pusher),
		Secrets: a.keys.totp, Tokens: s.tokens, Audit: a.audit, Clock: a.clock, Log: log,
		ServerKey: a.keys.server, PushKeys: a.keys.push, Local: a.hub, LateAudit: a.loginAudit, Locator: a.locator,
		WebPusher: a.metrics.WebPushes(a.webPusher),
	})
	if err != nil {
		return nil, err
	}
	if s.sso, err = sso.New(sso.Config{
		Key: a.keys.sso, TTL: cfg.SSOTTL, Domain: cfg.CookieDomain,
		Secure: strings.HasPrefix(cfg.PublicURL, "https://"), PublicURL: cfg.PublicURL,
	}, s.tokens, a.clock); err != nil {
		return nil, err
	}
	s.oidc, err = oidcprovider.New(oidcprovider.Config{Issuer: cfg.PublicURL, CryptoKey: a.keys.opaque}, oidcprovider.Deps{
		Clients: a.db, Secrets: a.keys.client, Users: a.db, Tokens: s.tokens, SSO: s.sso, KV: a.eph,
		Keys: idTokenKeys(a.keys), Clock: a.clock, Log: log,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// approvalConfig is the approval loop's limits with the durations and the
// callback URL of the deployment.
func approvalConfig(cfg *config) approval.Config {
	c := cfg.Limits.Approval
	c.ApprovalTTL, c.PushTimeout, c.CodeTTL = cfg.ApprovalTTL, cfg.PushTimeout, cfg.CodeTTL
	c.DeviceWSTicketTTL = cfg.DeviceWSTicketTTL
	c.CallbackURL = cfg.PublicURL + "/api/v1/callbacks/approval"
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		c.PathPrefix = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	c.PushKeySwitchDelay = keyring.ActivationReloads * cfg.KeyReloadInterval
	return c
}

// idTokenKeys are the provider's ID-token key rings.
func idTokenKeys(k *keys) []oidcprovider.Keys {
	var out []oidcprovider.Keys
	for _, ring := range k.idTokenRings() {
		out = append(out, ring)
	}
	return out
}
