package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

const claimsKey = "claims"

// requireBearer admits requests with a valid access token of an active
// session and leaves its claims in the context.
func requireBearer(tokens *session.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || raw == "" {
			return core.Errorf(core.EUnauthorized, "a Bearer access token is required")
		}
		claims, err := tokens.Authenticate(c.UserContext(), strings.Clone(raw))
		if err != nil {
			return err
		}
		c.Locals(claimsKey, claims)
		return c.Next()
	}
}

func claimsOf(c *fiber.Ctx) *session.Claims {
	return c.Locals(claimsKey).(*session.Claims)
}
