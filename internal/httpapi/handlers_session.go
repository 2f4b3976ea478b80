package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

func handleLogin(accounts *account.Service, tokens *session.Service, second approvalLogin, clock core.Clock) fiber.Handler {
	type request struct {
		Phone       string `json:"phone"`
		CountryCode string `json:"country_code"`
		Email       string `json:"email"`
		Password    string `json:"password"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		u, err := accounts.CheckPassword(c.UserContext(), account.LoginInput(req))
		if err != nil {
			return err
		}
		if u.TwoFactor {
			return second.StartLogin(c, u)
		}
		pair, err := tokens.Issue(c.UserContext(), u.ID, []string{"pwd"}, clock.Now())
		if err != nil {
			return err
		}
		return c.JSON(pair)
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
