package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

func handleLogin(p passwordLogin) fiber.Handler {
	return func(c *fiber.Ctx) error {
		pair, started, err := p.login(c)
		if err != nil {
			return err
		}
		if pair != nil {
			return c.JSON(pair)
		}
		started.Devices = nil // not part of the API's answer
		return c.Status(fiber.StatusAccepted).JSON(started)
	}
}

func handleRefresh(tokens *session.Service) fiber.Handler {
	type request struct {
		RefreshToken string `json:"refresh_token"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.RefreshToken == "" {
			return core.FieldError(core.EInvalidRequest, "refresh_token", "refresh_token is required")
		}
		pair, err := tokens.Refresh(c.UserContext(), req.RefreshToken)
		if err != nil {
			return err
		}
		return c.JSON(pair)
	}
}

func handleLogout(tokens *session.Service, audit core.Auditor) fiber.Handler {
	return func(c *fiber.Ctx) error {
		claims := claimsOf(c)
		if err := tokens.Logout(c.UserContext(), claims.SessionID); err != nil {
			return err
		}
		audit.Record(c.UserContext(), claims.UserID, core.EventSessionRevoked, "logged out")
		return c.SendStatus(fiber.StatusNoContent)
	}
}

func handleLogoutOthers(tokens *session.Service, audit core.Auditor) fiber.Handler {
	return func(c *fiber.Ctx) error {
		claims := claimsOf(c)
		if err := tokens.LogoutOthers(c.UserContext(), claims.UserID, claims.SessionID); err != nil {
			return err
		}
		audit.Record(c.UserContext(), claims.UserID, core.EventSessionRevoked, "other sessions logged out")
		return c.SendStatus(fiber.StatusNoContent)
	}
}

func handleJWKS(jwks func() []byte) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(jwks())
	}
}
