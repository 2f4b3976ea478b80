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

// mountOIDC serves the provider's discovery document and everything under
// /oidc/ with its own handler (zitadel/oidc's op, with its CORS and errors
// as the specifications say).
func mountOIDC(app *fiber.App, p OIDCProvider) {
	h := withUserContext(p.Handler())
	app.Get(oidcprovider.DiscoveryPath, h)
	app.All(oidcprovider.PathPrefix+"*", h)
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
