package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

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
	h := adaptor.HTTPHandler(p.Handler())
	app.Get(oidcprovider.DiscoveryPath, h)
	app.All(oidcprovider.PathPrefix+"*", h)
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
