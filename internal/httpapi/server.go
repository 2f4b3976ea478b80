// Package httpapi is approvald's HTTP surface on Fiber: routes.go maps all of
// it; handlers are grouped by area and each takes only what it uses.
package httpapi

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/clientcontext"
	"github.com/approvald/approvald/internal/clientip"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/metrics"
	"github.com/approvald/approvald/internal/passkey"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/sso"
)

// Config is what the HTTP layer needs to know of the deployment.
type Config struct {
	PublicURL      string
	AllowedOrigins []string
	// TrustedProxies may set X-Forwarded-For; the client IP (per-IP limits,
	// audit trail, logs) is read from it only for them (clientip).
	TrustedProxies []netip.Prefix
	// Websockets bounds the websockets open on this instance.
	Websockets WebsocketLimits
	// MetricsToken, when set, serves /metrics on this port to requests with
	// "Authorization: Bearer <MetricsToken>"; unset, /metrics is 404 here.
	MetricsToken string
}

// Deps are the services behind the routes.
type Deps struct {
	Accounts  *account.Service
	Tokens    *session.Service
	Approvals *approval.Service
	Devices   *device.Service
	// Passkeys runs the passkey ceremonies; when its Enabled is false
	// (PUBLIC_URL's host is an IP address) they answer passkeys_unavailable.
	Passkeys *passkey.Service
	Hub      *hub.Hub
	Store    approvalReader
	Events   core.SecurityEventStore
	// Locator names the place of an event's address in its context
	// (GEOIP_DB); nil: contexts have no location.
	Locator *clientcontext.Locator
	Audit   core.Auditor
	// AuthRequests names the application of an OpenID Connect
	// authorization request that a login carries (auth_request); nil when
	// this server is not an OpenID provider, and such a login is refused.
	AuthRequests AppNamer
	JWKS         func() []byte
	Ready        []Dependency
	Clock        core.Clock
	Log          *slog.Logger
	// Closing is closed when the server shuts down: websockets then close
	// with 1001 (going away) so browsers reconnect to another instance.
	Closing <-chan struct{}
	// Metrics records HTTP timings and websocket deliveries; nil records nothing.
	Metrics *metrics.Metrics
	// OIDC is the OpenID provider; nil serves none of its routes.
	OIDC OIDCProvider
	// Users reads the user of a single sign-on session (forward auth).
	Users userReader
	// SSO makes the single sign-on cookie of a login on the pages; nil
	// turns single sign-on and forward auth off.
	SSO *sso.Cookies
}

// MaxBody is the contract's request body limit.
const MaxBody = 64 << 10

// NewServer builds the Fiber app with every route and middleware.
func NewServer(cfg Config, d Deps) *fiber.App {
	fcfg := fiber.Config{
		AppName:               "approvald",
		BodyLimit:             MaxBody,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
		ReadBufferSize:        8 << 10, // also the request header size limit
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(d.Log),
		// Return a connection's read buffer to the pool once its request is
		// read: a websocket would otherwise keep it (8 KiB) for its whole life.
		ReduceMemoryUsage: true,
	}
	// No ProxyHeader: Fiber's c.IP() would then be the header's raw text;
	// withRequestContext resolves the client address once (clientip). Nor
	// EnableTrustedProxyCheck: without it c.Protocol() and c.Hostname()
	// believe X-Forwarded-Proto/Host from anyone, so nothing here reads
	// them (PUBLIC_URL says both).
	app := fiber.New(fcfg)
	https := strings.HasPrefix(cfg.PublicURL, "https://")
	app.Use(
		d.Metrics.Middleware(), // first: it reads the final status
		withRequestContext(15*time.Second, clientip.New(cfg.TrustedProxies)),
		accessLog(d.Log),
		recover.New(),
		securityHeaders(https),
		cors.New(cors.Config{
			AllowOrigins:  strings.Join(cfg.AllowedOrigins, ","),
			AllowMethods:  "GET,POST,PATCH,DELETE",
			AllowHeaders:  "Authorization, Content-Type, X-Approval-Ticket",
			ExposeHeaders: "Retry-After",
			MaxAge:        600,
			Next:          func(c *fiber.Ctx) bool { return isDeviceEndpoint(c) || isOIDCEndpoint(c) },
		}),
	)
	addRoutes(app, cfg, d)
	return app
}

// isDeviceEndpoint: device endpoints are called by authenticator apps, not
// browsers, and send no CORS headers.
func isDeviceEndpoint(c *fiber.Ctx) bool {
	p := c.Path()
	return strings.HasPrefix(p, "/api/v1/callbacks/") ||
		(strings.HasPrefix(p, "/api/v1/devices/") &&
			(strings.HasSuffix(p, "/approvals") || strings.HasSuffix(p, "/ws-ticket") || strings.HasSuffix(p, "/ws")))
}
