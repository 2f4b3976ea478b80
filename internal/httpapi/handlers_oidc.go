package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/approvald/approvald/internal/oidcprovider"
)

// OIDCProvider is the OpenID provider the routes mount (oidcprovider).
type OIDCProvider interface {
	Handler() http.Handler
	Describe(ctx context.Context, authRequestID string) (*oidcprovider.Request, error)
}

// oidcRoutes are the provider's paths (oidcprovider.New names op's
// endpoints; openapi_test.go checks that every one its discovery document
// lists is here) with the methods the specifications give them:
// authorization GET and POST (OpenID Connect Core §3.1.2.1), token POST
// (RFC 6749 §3.2), userinfo GET and POST (Core §5.3.1), introspection POST
// (RFC 7662), revocation POST (RFC 7009), end session GET and POST
// (RP-Initiated Logout §2). OPTIONS, the CORS preflight that op answers
// itself, is on what a browser application calls with fetch.
var oidcRoutes = []struct {
	path    string
	methods []string // GET brings HEAD
}{
	{oidcprovider.DiscoveryPath, []string{fiber.MethodGet, fiber.MethodOptions}},
	{"/oidc/authorize", []string{fiber.MethodGet, fiber.MethodPost}},
	{"/oidc/authorize/callback", []string{fiber.MethodGet}}, // op's way back from the login
	{oidcprovider.LoginPath, []string{fiber.MethodGet}},
	{"/oidc/token", []string{fiber.MethodPost, fiber.MethodOptions}},
	{"/oidc/userinfo", []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodOptions}},
	{"/oidc/introspect", []string{fiber.MethodPost}},
	{"/oidc/revoke", []string{fiber.MethodPost, fiber.MethodOptions}},
	{"/oidc/end_session", []string{fiber.MethodGet, fiber.MethodPost}},
	{"/oidc/keys", []string{fiber.MethodGet, fiber.MethodOptions}},
}

// mountOIDC serves the provider's discovery document and endpoints with its
// own handler (zitadel/oidc's op, with its CORS and errors as the
// specifications say); another method is 405, another path under /oidc/ 404.
func mountOIDC(app *fiber.App, p OIDCProvider) {
	h := withUserContext(p.Handler())
	for _, r := range oidcRoutes {
		for _, m := range r.methods {
			if m == fiber.MethodGet {
				app.Get(r.path, h)
			} else {
				app.Add(m, r.path, h)
			}
		}
	}
}

// withUserContext serves an http.Handler with the request's context of
// this server (its deadline, its client address), which Fiber's adaptor
// would replace with fasthttp's, which has neither.
func withUserContext(h http.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(ctx))
		}))(c.Context())
		return nil
	}
}

// isOIDCEndpoint: the provider answers CORS itself (a browser app may call
// its token endpoint from anywhere).
func isOIDCEndpoint(c *fiber.Ctx) bool {
	p := c.Path()
	return strings.HasPrefix(p, oidcprovider.PathPrefix) || p == oidcprovider.DiscoveryPath
}

// handleWebAuthorization tells the login page which application a sign-in
// is for and the login_hint it may pre-fill.
func handleWebAuthorization(p OIDCProvider) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := p.Describe(c.UserContext(), strings.Clone(c.Params("id")))
		if err != nil {
			return err
		}
		return c.JSON(r)
	}
}
