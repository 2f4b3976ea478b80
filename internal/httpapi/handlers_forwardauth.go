package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/sso"
)

// LoginURLHeader is where a 401 of forward auth names the login page (with
// the original address to return to when the proxy sent it), for nginx's
// auth_request to redirect to.
const LoginURLHeader = "X-Approvald-Login-URL"

// handleForwardAuth answers a reverse proxy's sub-request: 200 with the
// user's Remote-* headers for a browser with a single sign-on session;
// otherwise a 302 to the login page when the proxy says what was asked
// (X-Forwarded-Method/Proto/Host/Uri: Traefik forwardAuth, Caddy
// forward_auth), or a 401 naming the login page (nginx auth_request, which
// may send the original address as X-Original-URL).
func handleForwardAuth(cookies *sso.Cookies, users userReader, loginPage string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		if value := c.Cookies(sso.CookieName); value != "" {
			s, err := cookies.Session(c.UserContext(), strings.Clone(value))
			if err == nil {
				u, err := users.UserByID(c.UserContext(), s.UserID)
				if err != nil {
					return err
				}
				c.Set("Remote-User", u.ID)
				c.Set("Remote-Name", headerSafe(u.Name))
				c.Set("Remote-Email", u.Email)
				c.Set("Remote-Phone", u.Phone)
				return c.SendStatus(fiber.StatusOK)
			}
			if !core.IsCode(err, core.EUnauthorized) {
				return err
			}
		}
		original, proxied := requestedURL(c)
		login := loginPage
		if rd, ok := cookies.ReturnURL(original); ok {
			login += "?" + url.Values{"rd": {rd}}.Encode()
		} else if proxied {
			return core.Errorf(core.EForbidden, "the address asked for is not under this server's cookie domain")
		}
		if proxied {
			return c.Redirect(login, fiber.StatusFound)
		}
		c.Set(LoginURLHeader, login)
		return core.Errorf(core.EUnauthorized, "not signed in")
	}
}

// userReader finds the user a single sign-on session belongs to: forward
// auth runs on every request a proxy guards, so it reads the user alone
// (not account.Service.Profile, which also counts the devices).
type userReader interface {
	UserByID(ctx context.Context, id string) (*core.User, error)
}

// requestedURL is the address the proxy was asked for, and whether the
// proxy is one that expects a redirect (it sent X-Forwarded-Method).
func requestedURL(c *fiber.Ctx) (string, bool) {
	method, proto, host, uri := c.Get("X-Forwarded-Method"), c.Get("X-Forwarded-Proto"),
		c.Get("X-Forwarded-Host"), c.Get("X-Forwarded-Uri")
	if method != "" && proto != "" && host != "" {
		if uri == "" {
			uri = "/"
		}
		return proto + "://" + host + uri, true
	}
	return strings.Clone(c.Get("X-Original-URL")), false
}

// headerSafe keeps a display name to what a header may carry.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// handleContinue sends a browser that has just logged in back to the
// address forward auth stopped it at, once that address is checked
// (sso.Cookies.ReturnURL); without a single sign-on session it goes to the
// login page first.
func handleContinue(cookies *sso.Cookies, loginPage string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		rd, ok := cookies.ReturnURL(strings.Clone(c.Query("rd")))
		if !ok {
			return core.Errorf(core.EInvalidRequest, "the return address is not allowed")
		}
		if value := c.Cookies(sso.CookieName); value != "" {
			_, err := cookies.Session(c.UserContext(), strings.Clone(value))
			if err == nil {
				return c.Redirect(rd, fiber.StatusFound)
			}
			if !core.IsCode(err, core.EUnauthorized) {
				return err
			}
		}
		return c.Redirect(loginPage+"?"+url.Values{"rd": {rd}}.Encode(), fiber.StatusFound)
	}
}

// fiberCookie is an http.Cookie for Fiber.
func fiberCookie(h *http.Cookie) *fiber.Cookie {
	f := &fiber.Cookie{
		Name: h.Name, Value: h.Value, Path: h.Path, Domain: h.Domain, MaxAge: h.MaxAge,
		Secure: h.Secure, HTTPOnly: h.HttpOnly, SameSite: fiber.CookieSameSiteLaxMode,
	}
	if h.MaxAge < 0 {
		f.MaxAge, f.Expires = 0, time.Unix(1, 0)
	}
	return f
}
