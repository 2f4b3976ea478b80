package httpapi

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/passkey"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/sso"
)

// The /web/ endpoints serve approvald's own pages (web/) and are not part of
// the /api/v1 contract. They keep the refresh token in an HttpOnly cookie,
// out of reach of any script, and hand the page only the short-lived access
// token, which it keeps in memory.

// WebHeader must be on every /web/ request. A cross-origin page cannot send
// it without a CORS preflight, which does not allow it, so a request that
// carries it comes from a page of this origin (the CSRF guard).
const WebHeader = "X-Approvald-Web"

// webCookie is where the browser keeps its refresh token, and, when the
// server is an OpenID provider or forward auth, the single sign-on cookie
// that names the same session.
type webCookie struct {
	name   string
	secure bool
	sso    *sso.Cookies // nil: no single sign-on
}

// webCookieFor picks the cookie for PUBLIC_URL: "__Host-" and Secure over
// https; over plain http Secure is dropped only for a loopback host (local
// development), since browsers refuse Secure cookies from http origins.
// Elsewhere plain http keeps Secure: the browser then drops the cookie and
// sessions do not survive a reload, which is the right failure.
func webCookieFor(publicURL string) webCookie {
	u, err := url.Parse(publicURL)
	if err == nil && u.Scheme == "https" {
		return webCookie{name: "__Host-approvald_refresh", secure: true}
	}
	return webCookie{name: "approvald_refresh", secure: err != nil || !isLoopbackHost(u.Hostname())}
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (w webCookie) set(c *fiber.Ctx, refreshToken string) {
	c.Cookie(&fiber.Cookie{
		Name: w.name, Value: refreshToken, Path: "/",
		MaxAge:   int(session.DefaultRefreshIdle / time.Second),
		Secure:   w.secure,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode,
	})
}

func (w webCookie) clear(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{
		Name: w.name, Path: "/", Expires: time.Unix(1, 0),
		Secure: w.secure, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
	})
	if w.sso != nil {
		c.Cookie(fiberCookie(w.sso.Clear()))
	}
}

func (w webCookie) read(c *fiber.Ctx) string {
	return strings.Clone(c.Cookies(w.name))
}

// webGuard admits only requests from this origin's pages: WebHeader is
// required, and Sec-Fetch-Site and Origin, when the browser sends them,
// must say the same origin. Answers are never cached.
func webGuard(publicURL string, allowedOrigins []string) fiber.Handler {
	origins := slices.Clone(allowedOrigins)
	if u, err := url.Parse(publicURL); err == nil {
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		if c.Get(WebHeader) == "" {
			return core.Errorf(core.EForbidden, "this endpoint is for approvald's own pages")
		}
		if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
			return core.Errorf(core.EForbidden, "cross-site request refused")
		}
		if o := c.Get(fiber.HeaderOrigin); o != "" && !slices.Contains(origins, strings.TrimSuffix(o, "/")) {
			return core.Errorf(core.EForbidden, "origin not allowed")
		}
		return c.Next()
	}
}

// webAccess is what a page receives of a token pair: never the refresh token.
type webAccess struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// sendSession puts pair's refresh token into the cookie and answers with
// its access token.
func (w webCookie) sendSession(c *fiber.Ctx, pair *session.TokenPair) error {
	w.set(c, pair.RefreshToken)
	return c.JSON(webAccess{pair.AccessToken, pair.TokenType, pair.ExpiresIn})
}

// sendNewSession is sendSession for a login just made: it starts single
// sign-on too. A refresh does not, so single sign-on ends SSO_TTL after the
// login however long the page stays open.
func (w webCookie) sendNewSession(c *fiber.Ctx, pair *session.TokenPair) error {
	if w.sso != nil {
		c.Cookie(fiberCookie(w.sso.Cookie(pair.SessionID)))
	}
	return w.sendSession(c, pair)
}

// handleWebConfig tells the pages the server's figures they count down, so
// that they repeat none of them: the seconds between two codes texted for
// one sign-up and for one approval; and whether passkeys are on, so the
// pages offer them only then.
func handleWebConfig(accounts *account.Service, approvals *approval.Service, passkeys *passkey.Service) fiber.Handler {
	type response struct {
		SignupResendCooldown int    `json:"signup_resend_cooldown"`
		ApprovalSMSCooldown  int    `json:"approval_sms_cooldown"`
		Passkeys             bool   `json:"passkeys"`
		PasskeyRPID          string `json:"passkey_rp_id,omitempty"`
		// PasswordlessSMS says whether users may choose passwordless
		// sign-in by SMS (PASSWORDLESS_SMS), for the account page.
		PasswordlessSMS bool `json:"passwordless_sms"`
	}
	seconds := func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
	return func(c *fiber.Ctx) error {
		return c.JSON(response{
			SignupResendCooldown: seconds(accounts.ResendCooldown()),
			ApprovalSMSCooldown:  seconds(approvals.Config.SMSCooldown),
			Passkeys:             passkeys.Enabled(),
			PasskeyRPID:          passkeys.RPID(),
			PasswordlessSMS:      accounts.PasswordlessSMS,
		})
	}
}

// handleWebLogin is POST /api/v1/login for the pages: a user with two-factor
// off gets the cookie and an access token; otherwise the contract's 202, plus
// the names of the devices that are asked ("Approve on Ada's phone").
func handleWebLogin(p passwordLogin, cookie webCookie) fiber.Handler {
	return func(c *fiber.Ctx) error {
		pair, started, err := p.login(c)
		if err != nil {
			return err
		}
		if pair != nil {
			return cookie.sendNewSession(c, pair)
		}
		return c.Status(fiber.StatusAccepted).JSON(started)
	}
}

// handleWebSession exchanges an approved approval for the cookie and an
// access token (POST /api/v1/approvals/{id}/session for the pages).
func handleWebSession(approvals *approval.Service, cookie webCookie) fiber.Handler {
	type request struct {
		ApprovalID string `json:"approval_id"`
		Ticket     string `json:"ticket"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		a, err := approvals.ByTicket(c.UserContext(), req.ApprovalID, req.Ticket)
		if err != nil {
			return err
		}
		pair, err := approvals.Exchange(c.UserContext(), a)
		if err != nil {
			return err
		}
		return cookie.sendNewSession(c, pair)
	}
}

// handleWebRefresh rotates the cookie's refresh token and answers with a new
// access token. A refused cookie is cleared.
func handleWebRefresh(tokens *session.Service, cookie webCookie) fiber.Handler {
	return func(c *fiber.Ctx) error {
		refresh := cookie.read(c)
		if refresh == "" {
			return core.Errorf(core.EUnauthorized, "no session")
		}
		pair, err := tokens.Refresh(c.UserContext(), refresh)
		if core.IsCode(err, core.EUnauthorized) {
			cookie.clear(c)
		}
		if err != nil {
			return err
		}
		return cookie.sendSession(c, pair)
	}
}

// handleWebLogout revokes the page's session, named by its access token or,
// when that is missing or stale, by the cookie, and clears the cookie.
func handleWebLogout(tokens *session.Service, audit core.Auditor, cookie webCookie) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		var claims *session.Claims
		if raw, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); ok && raw != "" {
			claims, _ = tokens.Authenticate(ctx, strings.Clone(raw))
		}
		if refresh := cookie.read(c); claims == nil && refresh != "" {
			// Spending the refresh token is the only way to learn its session.
			if pair, err := tokens.Refresh(ctx, refresh); err == nil {
				claims, _ = tokens.Authenticate(ctx, pair.AccessToken)
			} else if !core.IsCode(err, core.EUnauthorized) {
				return err
			}
		}
		if claims != nil {
			if err := tokens.Logout(ctx, claims.SessionID); err != nil {
				return err
			}
			audit.Record(ctx, claims.UserID, core.EventSessionRevoked, "logged out")
		}
		cookie.clear(c)
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleWebEnrollment starts a device enrollment (as POST
// /api/v1/devices/enrollments) and adds what the account page shows: the
// server's URL, an enrollment URI and that URI as a QR code (a PNG data:
// URL, drawn here so the page loads nothing from elsewhere).
func handleWebEnrollment(devices *device.Service, publicURL string) fiber.Handler {
	type response struct {
		EnrollmentCode string `json:"enrollment_code"`
		ExpiresIn      int    `json:"expires_in"`
		Server         string `json:"server"`
		EnrollURI      string `json:"enroll_uri"`
		QR             string `json:"qr"`
	}
	return func(c *fiber.Ctx) error {
		code, ttl, err := devices.StartEnrollment(c.UserContext(), claimsOf(c).UserID)
		if err != nil {
			return err
		}
		uri := EnrollURI(publicURL, code)
		img, err := qrPNG(uri, 256)
		if err != nil {
			return &core.Error{Code: core.EInternal, Message: "internal error", Err: err}
		}
		return c.Status(fiber.StatusCreated).JSON(response{
			EnrollmentCode: code, ExpiresIn: int(ttl.Seconds()), Server: publicURL, EnrollURI: uri,
			QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(img),
		})
	}
}

// qrPNG draws text as a QR code (medium error correction) of size×size pixels.
func qrPNG(text string, size int) ([]byte, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	if code, err = barcode.Scale(code, size, size); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, code); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EnrollURI is what the QR code of an enrollment says: the server and the
// one-time code, for an authenticator app that scans it.
func EnrollURI(publicURL, code string) string {
	return "approvald://enroll?" + url.Values{"server": {publicURL}, "code": {code}}.Encode()
}
