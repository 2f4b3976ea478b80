package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/clientip"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/phone"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/sms"
	"github.com/approvald/approvald/internal/sso"
	"github.com/approvald/approvald/internal/webpush"
)

// config is everything approvald reads from its environment. The names of
// the contract's variables are fixed: deployments set them (README "Configuration").
type config struct {
	Addr           string
	addrDefault    bool // ADDR was not set
	PublicURL      string
	DatabaseURL    string
	RedisURL       string
	AllowedOrigins []string
	// WebAuthnOrigins (WEBAUTHN_ORIGINS) are origins besides PUBLIC_URL's
	// that passkey ceremonies may come from (pages on another port or a
	// subdomain under the same RP ID).
	WebAuthnOrigins []string
	ApprovalTTL     time.Duration
	PushTimeout     time.Duration
	CodeTTL         time.Duration
	// DeviceWSTicketTTL (DEVICE_WS_TICKET_TTL) is the life of a device
	// websocket ticket.
	DeviceWSTicketTTL time.Duration
	SecretKey         string // SECRET_KEY: base64 of 32 bytes; see README "Secrets"
	// PreviousSecretKeys (SECRET_KEYS_PREVIOUS) still open TOTP secrets
	// sealed before a rotation.
	PreviousSecretKeys [][]byte
	SweepInterval      time.Duration
	// KeyReloadInterval is how often the token keys are read again, so a
	// key rotated in (approvald rotate-key) verifies everywhere before it
	// signs anywhere; rotate-key activates it after keyring.ActivationReloads
	// intervals.
	KeyReloadInterval time.Duration
	// PushKeyGrace (PUSH_KEY_GRACE) is how long, at most, the old push key
	// keeps signing after `rotate-key --push`.
	PushKeyGrace time.Duration
	Limits       *limits
	// TrustedProxies (TRUSTED_PROXIES, IPs or CIDRs) are the reverse
	// proxies whose X-Forwarded-For tells the client's address.
	TrustedProxies []netip.Prefix
	// PushAllowPrivate lets pushes reach private and loopback addresses
	// (PUSH_ALLOW_PRIVATE=true): for a test network only, never in production.
	PushAllowPrivate bool
	// PasswordlessSMS (PASSWORDLESS_SMS=true) lets users sign in with an SMS
	// code alone. Off by default: whoever takes over the phone number (a SIM
	// swap, a ported number) then takes over the account.
	PasswordlessSMS bool
	LogLevel        string
	// Metrics: METRICS_ADDR is a listener of its own for /metrics (and
	// /debug/pprof/ with METRICS_PPROF=true); else METRICS_TOKEN serves
	// /metrics on ADDR to that bearer token; neither: no metrics endpoint.
	MetricsAddr  string
	MetricsToken string
	MetricsPprof bool

	// SMSProvider is "" only on PostgreSQL without SMS_PROVIDER, which
	// serve refuses (requireSMSProvider).
	SMSProvider string
	// SMSPolicy is which numbers are texted (SMS_COUNTRIES, and never
	// premium-rate and similar numbers).
	SMSPolicy        *phone.SMSPolicy
	SMSWebhookURL    string
	SMSTimeout       time.Duration
	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string
	TwilioBaseURL    string
	YunpianAPIKey    string
	YunpianBaseURL   string

	// SSOTTL (SSO_TTL) is how long a login's single sign-on cookie lets
	// other applications in without a new approval.
	SSOTTL time.Duration
	// CookieDomain (COOKIE_DOMAIN) shares the single sign-on cookie with
	// the hosts under it, for forward auth; it must contain PUBLIC_URL's host.
	CookieDomain string

	// ClientsFile (CLIENTS_FILE) declares OpenID Connect clients, applied
	// by serve at start (applyClientsFile).
	ClientsFile string
	// GeoIPDB (GEOIP_DB) is a MaxMind-format city database (GeoLite2 or
	// GeoIP2 City): pushes and the security trail then name the place of a
	// login's address. Opened once by serve (openLocator).
	GeoIPDB string
	// VAPIDSubject (VAPID_SUBJECT) is the contact Web Push services see in
	// every VAPID token: a mailto: address or an https: URL. Unset, it is
	// PUBLIC_URL when that is https (see vapidSubject).
	VAPIDSubject string
	// getenv is the environment, for the variables CLIENTS_FILE names
	// (client_secret_env).
	getenv func(string) string
}

// configError names the variable and what is wrong with it.
type configError struct{ name, problem string }

func (e *configError) Error() string { return e.name + ": " + e.problem }

func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{
		Addr:             orDefault(getenv("ADDR"), "127.0.0.1:8080"),
		DatabaseURL:      orDefault(getenv("DATABASE_URL"), "sqlite:approvald.db"),
		RedisURL:         getenv("REDIS_URL"),
		SecretKey:        getenv("SECRET_KEY"),
		LogLevel:         orDefault(getenv("LOG_LEVEL"), "info"),
		MetricsAddr:      getenv("METRICS_ADDR"),
		MetricsToken:     getenv("METRICS_TOKEN"),
		SMSProvider:      getenv("SMS_PROVIDER"),
		SMSWebhookURL:    getenv("SMS_WEBHOOK_URL"),
		TwilioAccountSID: getenv("TWILIO_ACCOUNT_SID"),
		TwilioAuthToken:  getenv("TWILIO_AUTH_TOKEN"),
		TwilioFrom:       getenv("TWILIO_FROM"),
		TwilioBaseURL:    getenv("TWILIO_BASE_URL"),
		YunpianAPIKey:    getenv("YUNPIAN_API_KEY"),
		YunpianBaseURL:   getenv("YUNPIAN_BASE_URL"),
		ClientsFile:      getenv("CLIENTS_FILE"),
		GeoIPDB:          getenv("GEOIP_DB"),
		VAPIDSubject:     strings.TrimSpace(getenv("VAPID_SUBJECT")),
		CookieDomain:     strings.TrimPrefix(strings.ToLower(strings.TrimSpace(getenv("COOKIE_DOMAIN"))), "."),
		getenv:           getenv,
		addrDefault:      getenv("ADDR") == "",
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return nil, &configError{"ADDR", "must be host:port, e.g. 127.0.0.1:8080"}
	}
	// An unset PUBLIC_URL is derived from the address actually listened on
	// (see setPublicURL), so ADDR=127.0.0.1:0 works for tests.
	if c.PublicURL = strings.TrimSuffix(getenv("PUBLIC_URL"), "/"); c.PublicURL != "" {
		if err := checkBaseURL(c.PublicURL); err != nil {
			return nil, &configError{"PUBLIC_URL", err.Error()}
		}
	}
	if c.VAPIDSubject != "" {
		if err := webpush.CheckSubject(c.VAPIDSubject); err != nil {
			return nil, &configError{"VAPID_SUBJECT", "must be a mailto: address or an https: URL, e.g. mailto:ops@example.com"}
		}
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") &&
		!strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		return nil, &configError{"DATABASE_URL", "must start with postgres:// or sqlite:"}
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		return nil, &configError{"REDIS_URL", "must start with redis:// or rediss://"}
	}
	for _, o := range strings.Split(getenv("ALLOWED_ORIGINS"), ",") {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			return nil, &configError{"ALLOWED_ORIGINS", fmt.Sprintf("%q %v", o, err)}
		}
		c.AllowedOrigins = append(c.AllowedOrigins, o)
	}
	for _, o := range strings.Split(getenv("WEBAUTHN_ORIGINS"), ",") {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			return nil, &configError{"WEBAUTHN_ORIGINS", fmt.Sprintf("%q %v", o, err)}
		}
		c.WebAuthnOrigins = append(c.WebAuthnOrigins, o)
	}
	var err error
	approvals := approval.DefaultConfig()
	durations := []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"APPROVAL_TTL", &c.ApprovalTTL, approvals.ApprovalTTL},
		{"PUSH_TIMEOUT", &c.PushTimeout, approvals.PushTimeout},
		{"CODE_TTL", &c.CodeTTL, approvals.CodeTTL},
		{"DEVICE_WS_TICKET_TTL", &c.DeviceWSTicketTTL, approvals.DeviceWSTicketTTL},
		{"SMS_TIMEOUT", &c.SMSTimeout, sms.DefaultTimeout},
		{"SWEEP_INTERVAL", &c.SweepInterval, time.Second},
		{"KEY_RELOAD_INTERVAL", &c.KeyReloadInterval, keyring.DefaultReloadInterval},
		{"PUSH_KEY_GRACE", &c.PushKeyGrace, keyring.DefaultPushKeyGrace},
		{"SSO_TTL", &c.SSOTTL, sso.DefaultTTL},
	}
	for _, d := range durations {
		if *d.dst, err = parseDuration(d.name, getenv(d.name), d.def); err != nil {
			return nil, err
		}
	}
	// console prints codes instead of sending them: a fine default for the
	// embedded try-out, a silent outage (or a leak into logs) in a real
	// deployment, which must choose.
	if c.SMSProvider == "" && strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		c.SMSProvider = "console"
	}
	switch c.SMSProvider {
	case "", "console", "webhook", "twilio", "yunpian":
	default:
		return nil, &configError{"SMS_PROVIDER", "must be console, webhook, twilio or yunpian"}
	}
	if c.SMSPolicy, err = phone.NewSMSPolicy(splitList(getenv("SMS_COUNTRIES"))); err != nil {
		return nil, &configError{"SMS_COUNTRIES", err.Error() + "; list the countries to text as ISO 3166 alpha-2 codes, e.g. US,CA,GB"}
	}
	switch v := getenv("PASSWORDLESS_SMS"); v {
	case "", "false":
	case "true":
		c.PasswordlessSMS = true
	default:
		return nil, &configError{"PASSWORDLESS_SMS", "must be true or false"}
	}
	switch v := getenv("PUSH_ALLOW_PRIVATE"); v {
	case "", "false":
	case "true":
		c.PushAllowPrivate = true
	default:
		return nil, &configError{"PUSH_ALLOW_PRIVATE", "must be true or false"}
	}
	if c.Limits, err = loadLimits(getenv); err != nil {
		return nil, err
	}
	if c.TrustedProxies, err = clientip.ParsePrefixes(splitList(getenv("TRUSTED_PROXIES"))); err != nil {
		return nil, &configError{"TRUSTED_PROXIES", "must be a comma-separated list of IPs or CIDRs: " + err.Error()}
	}
	for _, k := range splitList(getenv("SECRET_KEYS_PREVIOUS")) {
		key, err := secretbox.ParseKey(k)
		if err != nil {
			return nil, &configError{"SECRET_KEYS_PREVIOUS", "must be a comma-separated list of base64 32-byte keys"}
		}
		c.PreviousSecretKeys = append(c.PreviousSecretKeys, key)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return nil, &configError{"METRICS_ADDR", "must be host:port, e.g. 127.0.0.1:9090"}
		}
	}
	switch v := getenv("METRICS_PPROF"); v {
	case "", "false":
	case "true":
		if c.MetricsAddr == "" {
			return nil, &configError{"METRICS_PPROF", "needs METRICS_ADDR: profiles are served only on the metrics listener"}
		}
		c.MetricsPprof = true
	default:
		return nil, &configError{"METRICS_PPROF", "must be true or false"}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, &configError{"LOG_LEVEL", "must be debug, info, warn or error"}
	}
	return c, nil
}

// requireSMSProvider refuses to serve on PostgreSQL without SMS_PROVIDER.
// Only serve texts, so migrate and rotate-key do not need it.
func (c *config) requireSMSProvider() error {
	if c.SMSProvider == "" {
		return &configError{"SMS_PROVIDER", "is required with PostgreSQL: set it to twilio, yunpian or webhook (or console, which only prints the codes: for a trial, never in production)"}
	}
	return nil
}

// vapidSubject is VAPID_SUBJECT, or PUBLIC_URL when that is https, or
// else (a trial on http://localhost) the postmaster of PUBLIC_URL's host,
// the one address RFC 2142 expects at every mail domain: the library
// that signs the tokens needs some subject, and push services only use it
// to write to an operator whose pushes misbehave.
func (c *config) vapidSubject() string {
	switch u, _ := url.Parse(c.PublicURL); {
	case c.VAPIDSubject != "":
		return c.VAPIDSubject
	case u.Scheme == "https":
		return c.PublicURL
	default:
		return "mailto:postmaster@" + u.Hostname()
	}
}

// setPublicURL fills the defaults that depend on the listening address:
// PUBLIC_URL is http:// + that address, ALLOWED_ORIGINS is PUBLIC_URL.
// With neither PUBLIC_URL nor ADDR set (`make run`), the default address
// 127.0.0.1 is announced as localhost, since an IP address cannot be a
// WebAuthn RP ID and passkeys would be off; 127.0.0.1 stays an allowed
// origin then, so the pages work there too (without passkeys).
func (c *config) setPublicURL(listenAddr string) {
	loopbackAlias := ""
	if c.PublicURL == "" {
		c.PublicURL = "http://" + listenAddr
		if host, port, err := net.SplitHostPort(listenAddr); err == nil && c.addrDefault && host == "127.0.0.1" {
			loopbackAlias = c.PublicURL
			c.PublicURL = "http://localhost:" + port
		}
	}
	if len(c.AllowedOrigins) == 0 {
		u, _ := url.Parse(c.PublicURL) // checked by loadConfig
		c.AllowedOrigins = []string{u.Scheme + "://" + u.Host}
		if loopbackAlias != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, loopbackAlias)
		}
	}
}

// checkCookieDomain refuses a COOKIE_DOMAIN that does not contain
// PUBLIC_URL's host: the browser would then drop the cookie, and every
// login would loop back to the login page.
func (c *config) checkCookieDomain() error {
	if c.CookieDomain == "" {
		return nil
	}
	u, _ := url.Parse(c.PublicURL) // checked by loadConfig
	host := strings.ToLower(u.Hostname())
	if !strings.Contains(c.CookieDomain, ".") || net.ParseIP(c.CookieDomain) != nil ||
		(host != c.CookieDomain && !strings.HasSuffix(host, "."+c.CookieDomain)) {
		return &configError{"COOKIE_DOMAIN", "must be a domain name that PUBLIC_URL's host is, or is under (e.g. example.com for auth.example.com)"}
	}
	return nil
}

// pushPolicy is where pushes may go, decided once (after setPublicURL) for
// both the push_url validator and the push client: loopback only when
// PUBLIC_URL's host is loopback itself, i.e. development on one machine; a
// server with a real name would otherwise POST to its own local services
// for any user who enrolls a device.
func (c *config) pushPolicy() push.Policy {
	u, err := url.Parse(c.PublicURL)
	return push.Policy{
		AllowLoopback: err == nil && push.IsLoopbackHost(u.Hostname()),
		AllowPrivate:  c.PushAllowPrivate,
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func parseDuration(name, v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &configError{name, fmt.Sprintf("must be a positive Go duration such as 120s or 10m, not %q", v)}
	}
	return d, nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must be an absolute http(s) URL without user, query or fragment, e.g. https://login.example.com")
	}
	return nil
}

func checkOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return fmt.Errorf("is not an origin like https://login.example.com")
	}
	return nil
}
