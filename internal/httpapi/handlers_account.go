package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/session"
)

func handleSignup(accounts *account.Service) fiber.Handler {
	type request struct {
		Name        string `json:"name"`
		Email       string `json:"email"`
		Phone       string `json:"phone"`
		CountryCode string `json:"country_code"`
		Password    string `json:"password"`
	}
	type response struct {
		UserID         string `json:"user_id"`
		VerificationID string `json:"verification_id"`
		ExpiresIn      int    `json:"expires_in"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		res, err := accounts.Signup(c.UserContext(), account.SignupInput(req))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(response{res.UserID, res.VerificationID, res.ExpiresIn})
	}
}

func handleSignupVerify(accounts *account.Service) fiber.Handler {
	type request struct {
		VerificationID string `json:"verification_id"`
		Code           string `json:"code"`
	}
	type response struct {
		UserID        string `json:"user_id"`
		PhoneVerified bool   `json:"phone_verified"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.VerificationID == "" {
			return core.FieldError(core.EInvalidRequest, "verification_id", "verification_id is required")
		}
		if req.Code == "" {
			return core.FieldError(core.EInvalidRequest, "code", "code is required")
		}
		u, err := accounts.VerifyPhone(c.UserContext(), req.VerificationID, req.Code)
		if err != nil {
			return err
		}
		return c.JSON(response{u.ID, u.PhoneVerified})
	}
}

func handleSignupResend(accounts *account.Service) fiber.Handler {
	type request struct {
		VerificationID string `json:"verification_id"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.VerificationID == "" {
			return core.FieldError(core.EInvalidRequest, "verification_id", "verification_id is required")
		}
		if err := accounts.ResendCode(c.UserContext(), req.VerificationID); err != nil {
			return err
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "sent"})
	}
}

type profileResponse struct {
	UserID        string  `json:"user_id"`
	Name          string  `json:"name"`
	Email         *string `json:"email"`
	Phone         string  `json:"phone"`
	PhoneVerified bool    `json:"phone_verified"`
	TwoFactor     bool    `json:"two_factor"`
	Passwordless  string  `json:"passwordless"`
	Devices       int     `json:"devices"`
}

func profileJSON(p *account.Profile) profileResponse {
	var email *string
	if p.User.Email != "" {
		email = &p.User.Email
	}
	mode := p.User.Passwordless
	if mode == "" {
		mode = core.PasswordlessOff
	}
	return profileResponse{p.User.ID, p.User.Name, email, p.User.Phone, p.User.PhoneVerified, p.User.TwoFactor, string(mode), p.Devices}
}

func handleGetMe(accounts *account.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := accounts.Profile(c.UserContext(), claimsOf(c).UserID)
		if err != nil {
			return err
		}
		return c.JSON(profileJSON(p))
	}
}

func handlePatchMe(accounts *account.Service, tokens *session.Service) fiber.Handler {
	type request struct {
		TwoFactor    *bool   `json:"two_factor"`
		Passwordless *string `json:"passwordless"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Passwordless != nil {
			switch core.Passwordless(*req.Passwordless) {
			case core.PasswordlessOff, core.PasswordlessPush, core.PasswordlessSMS:
			default:
				return core.FieldError(core.EInvalidRequest, "passwordless", `passwordless must be "push", "sms" or "off"`)
			}
		}
		claims := claimsOf(c)
		p, err := accounts.Profile(c.UserContext(), claims.UserID)
		if err != nil {
			return err
		}
		if req.TwoFactor != nil && !*req.TwoFactor {
			// Turning the second factor off is a risky change.
			if err := tokens.RequireRecentAuth(claims, true); err != nil {
				return err
			}
		}
		if req.Passwordless != nil {
			// So is any change of passwordless sign-in, as adding a
			// device is: a fresh login, with the second factor when on.
			if err := tokens.RequireRecentAuth(claims, p.User.TwoFactor); err != nil {
				return err
			}
		}
		if req.TwoFactor != nil {
			if p, err = accounts.SetTwoFactor(c.UserContext(), claims.UserID, *req.TwoFactor); err != nil {
				return err
			}
		}
		if req.Passwordless != nil {
			if p, err = accounts.SetPasswordless(c.UserContext(), claims.UserID, core.Passwordless(*req.Passwordless)); err != nil {
				return err
			}
		}
		return c.JSON(profileJSON(p))
	}
}

func handleChangePassword(accounts *account.Service, tokens *session.Service) fiber.Handler {
	type request struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		claims := claimsOf(c)
		p, err := accounts.Profile(c.UserContext(), claims.UserID)
		if err != nil {
			return err
		}
		if err := tokens.RequireRecentAuth(claims, p.User.TwoFactor); err != nil {
			return err
		}
		if err := accounts.ChangePassword(c.UserContext(), claims.UserID, req.CurrentPassword, req.NewPassword); err != nil {
			return err
		}
		if err := tokens.LogoutOthers(c.UserContext(), claims.UserID, claims.SessionID); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}
