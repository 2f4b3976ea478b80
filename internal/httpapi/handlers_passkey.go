package httpapi

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/passkey"
)

// Passkeys (internal/passkey): registration for a logged-in user with a
// fresh login, and a complete login of their own.

func handleStartPasskeyRegistration(passkeys *passkey.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, options, err := passkeys.BeginRegistration(c.UserContext(), claimsOf(c).UserID)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"registration_id": id, "options": options})
	}
}

type passkeyView struct {
	PasskeyID  string     `json:"passkey_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	BackedUp   bool       `json:"backed_up"`
}

func viewOfPasskey(p *core.Passkey) passkeyView {
	return passkeyView{p.ID, p.Name, p.CreatedAt.UTC(), p.LastUsedAt, p.BackupState}
}

func handleAddPasskey(passkeys *passkey.Service) fiber.Handler {
	type request struct {
		RegistrationID string          `json:"registration_id"`
		Name           string          `json:"name"`
		Credential     json.RawMessage `json:"credential"`
	}
	type response struct {
		PasskeyID string    `json:"passkey_id"`
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.RegistrationID == "" {
			return core.FieldError(core.EInvalidRequest, "registration_id", "registration_id is required")
		}
		if len(req.Credential) == 0 || string(req.Credential) == "null" {
			return core.FieldError(core.EInvalidRequest, "credential", "credential is required")
		}
		p, err := passkeys.FinishRegistration(c.UserContext(), claimsOf(c).UserID, passkey.Registration{
			ID: req.RegistrationID, Name: req.Name, Credential: req.Credential,
		})
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(response{p.ID, p.Name, p.CreatedAt.UTC()})
	}
}

func handleListPasskeys(passkeys *passkey.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := passkeys.List(c.UserContext(), claimsOf(c).UserID)
		if err != nil {
			return err
		}
		out := make([]passkeyView, 0, len(list))
		for _, p := range list {
			out = append(out, viewOfPasskey(p))
		}
		return c.JSON(fiber.Map{"passkeys": out})
	}
}

func handleDeletePasskey(passkeys *passkey.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := passkeys.Remove(c.UserContext(), claimsOf(c).UserID, c.Params("id")); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

func handlePasskeyLoginOptions(passkeys *passkey.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, options, err := passkeys.BeginLogin(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"challenge_id": id, "options": options})
	}
}

// passkeyLogin reads a login's answer and finishes it.
func passkeyLogin(c *fiber.Ctx, passkeys *passkey.Service) (*passkey.Login, error) {
	var req struct {
		ChallengeID string          `json:"challenge_id"`
		Credential  json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return nil, err
	}
	if req.ChallengeID == "" {
		return nil, core.FieldError(core.EInvalidRequest, "challenge_id", "challenge_id is required")
	}
	if len(req.Credential) == 0 || string(req.Credential) == "null" {
		return nil, core.FieldError(core.EInvalidRequest, "credential", "credential is required")
	}
	return passkeys.FinishLogin(c.UserContext(), req.ChallengeID, req.Credential)
}

func handlePasskeyLogin(passkeys *passkey.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		login, err := passkeyLogin(c, passkeys)
		if err != nil {
			return err
		}
		return c.JSON(login.Tokens)
	}
}

// handleWebPasskeyLogin is POST /api/v1/login/passkey for the pages: the
// refresh token goes into the cookie, and single sign-on starts, so a
// passkey login is the OpenID provider's and forward auth's login too.
func handleWebPasskeyLogin(passkeys *passkey.Service, cookie webCookie) fiber.Handler {
	return func(c *fiber.Ctx) error {
		login, err := passkeyLogin(c, passkeys)
		if err != nil {
			return err
		}
		return cookie.sendNewSession(c, login.Tokens)
	}
}
