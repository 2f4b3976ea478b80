package oidcprovider

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/sso"
)

// Paths of the provider on the server; the issuer's path, if any, is in
// front of them for the outside (a proxy strips it, as for the rest).
const (
	PathPrefix    = "/oidc/"
	AuthorizePath = "/oidc/authorize"
	LoginPath     = "/oidc/login"
	DiscoveryPath = "/.well-known/openid-configuration"
)

// Defaults of the provider's lifetimes.
const (
	DefaultRequestTTL = 15 * time.Minute // from /authorize to the code, login included
	DefaultCodeTTL    = time.Minute      // an authorization code (RFC 6749 §4.1.2: at most 10 min)
	DefaultIDTokenTTL = 10 * time.Minute
)

// Config is the provider's deployment.
type Config struct {
	Issuer string // PUBLIC_URL
	// CryptoKey seals the opaque access tokens and codes op makes (a subkey
	// of SECRET_KEY).
	CryptoKey [32]byte
	// LoginPage is the page that logs the user in (approvald's own, "/"),
	// relative to the issuer; it is given ?oidc=<request id>.
	LoginPage  string
	RequestTTL time.Duration
	CodeTTL    time.Duration
	AccessTTL  time.Duration // session.DefaultAccessTTL when zero
	IDTokenTTL time.Duration
}

// Deps are what the provider runs on.
type Deps struct {
	Clients core.OIDCClientStore
	Secrets SecretVerifier
	Users   Users
	Tokens  *session.Service
	SSO     *sso.Cookies
	KV      core.KV
	// Keys are the ID-token key rings, one per algorithm a client may ask
	// for (Keys' Signer says which); RS256 is required, ES256 and EdDSA
	// are offered when given.
	Keys  []Keys
	Clock core.Clock
	Log   *slog.Logger
}

// Provider is the OpenID Provider: op's handler and the login step.
type Provider struct {
	op       *op.Provider
	storage  *storage
	sso      *sso.Cookies
	tokens   *session.Service
	issuer   string
	page     string
	log      *slog.Logger
	requests *requests
	clock    core.Clock
	binding  bindingCookie
}

// New builds the provider.
func New(cfg Config, d Deps) (*Provider, error) {
	if d.Clients == nil || d.Secrets == nil || d.Users == nil || d.Tokens == nil || d.SSO == nil ||
		d.KV == nil || d.Keys == nil || d.Clock == nil || d.Log == nil {
		return nil, errors.New("oidcprovider: every dependency is required")
	}
	rings, err := newKeyRings(d.Keys)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" {
		return nil, errors.New("oidcprovider: the issuer must be an absolute URL")
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	withDefault := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	withDefault(&cfg.RequestTTL, DefaultRequestTTL)
	withDefault(&cfg.CodeTTL, DefaultCodeTTL)
	withDefault(&cfg.AccessTTL, session.DefaultAccessTTL)
	withDefault(&cfg.IDTokenTTL, DefaultIDTokenTTL)
	if cfg.LoginPage == "" {
		cfg.LoginPage = "/"
	}
	q := &requests{kv: d.KV, clock: d.Clock, ttl: cfg.RequestTTL, codeTTL: cfg.CodeTTL}
	st := &storage{
		clients: newClientCache(d.Clients, d.Clock), secrets: d.Secrets, users: d.Users, tokens: d.Tokens, keys: rings,
		requests: q, clock: d.Clock, log: d.Log,
		accessTTL: cfg.AccessTTL, idTTL: cfg.IDTokenTTL,
	}
	st.loginPath = strings.TrimSuffix(u.Path, "/") + LoginPath
	opCfg := &op.Config{
		CryptoKey:                cfg.CryptoKey,
		DefaultLogoutRedirectURI: cfg.Issuer + "/",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone,
			oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr",
			"c_hash", "at_hash", "azp", "name", "updated_at", "email", "email_verified", "phone_number",
			"phone_number_verified"},
	}
	opts := []op.Option{
		op.WithCustomEndpoints(
			op.NewEndpoint("oidc/authorize"), op.NewEndpoint("oidc/token"), op.NewEndpoint("oidc/userinfo"),
			op.NewEndpoint("oidc/revoke"), op.NewEndpoint("oidc/end_session"), op.NewEndpoint("oidc/keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint("oidc/introspect")),
		op.WithLogger(d.Log),
		// An id_token_hint may be one of any client, of any algorithm
		// offered (op takes RS256, ES256 and PS256 alone otherwise).
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(rings.algs...)),
	}
	if u.Scheme == "http" {
		// Development and tests on loopback; config refuses plain http
		// elsewhere for PUBLIC_URL.
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(opCfg, &endingStorage{st}, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, err
	}
	return &Provider{
		op: o, storage: st, sso: d.SSO, tokens: d.Tokens, issuer: cfg.Issuer, page: cfg.LoginPage,
		log: d.Log, requests: q, clock: d.Clock, binding: bindingCookieFor(u.Scheme == "https"),
	}, nil
}

// Handler serves the provider: /.well-known/openid-configuration and
// everything under /oidc/.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(LoginPath, p.handleLogin)
	mux.Handle("/", honestDiscovery(tokenAnswers(withTokenClient(p.withBrowserSession(p.bindBrowser(p.op))))))
	return mux
}

// AppName is the name of the application an authorization request in
// progress is for ("Sign in to Grafana"); EInvalidRequest when the request
// is unknown or has expired.
func (p *Provider) AppName(ctx context.Context, id string) (string, error) {
	r, err := p.requests.byID(ctx, id)
	if errors.Is(err, errUnknownRequest) {
		return "", expiredRequest()
	}
	if err != nil {
		return "", err
	}
	return r.ClientName, nil
}

// Request is what the login page shows of an authorization request.
type Request struct {
	AppName   string `json:"app"`
	LoginHint string `json:"login_hint,omitempty"`
}

// Describe returns what the login page shows of request id.
func (p *Provider) Describe(ctx context.Context, id string) (*Request, error) {
	r, err := p.requests.byID(ctx, id)
	if errors.Is(err, errUnknownRequest) {
		return nil, expiredRequest()
	}
	if err != nil {
		return nil, err
	}
	return &Request{AppName: r.ClientName, LoginHint: r.LoginHint}, nil
}

func expiredRequest() *core.Error {
	return &core.Error{Code: core.EInvalidRequest, Field: "auth_request",
		Message: "the sign-in request is unknown or has expired; start again from the application"}
}
