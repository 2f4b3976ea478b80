package httpapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/signing"
)

// recentAuth requires a fresh login (and a second factor when the user has
// two-factor on) for risky changes.
func recentAuth(accounts *account.Service, tokens *session.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		claims := claimsOf(c)
		p, err := accounts.Profile(c.UserContext(), claims.UserID)
		if err != nil {
			return err
		}
		if err := tokens.RequireRecentAuth(claims, p.User.TwoFactor); err != nil {
			return err
		}
		return c.Next()
	}
}

func handleStartEnrollment(devices *device.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		code, ttl, err := devices.StartEnrollment(c.UserContext(), claimsOf(c).UserID)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"enrollment_code": code, "expires_in": int(ttl.Seconds())})
	}
}

// webPushJSON is a PushSubscription as toJSON() serializes it, the
// web_push of a registration and of PUT /api/v1/devices/{id}/web-push.
type webPushJSON struct {
	Endpoint string `json:"endpoint"`
	// ExpirationTime is in PushSubscription.toJSON(); it is taken and
	// ignored (push services say 404/410 when a subscription ends).
	ExpirationTime *float64 `json:"expirationTime"`
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// subscription is w for the device service; nil for none.
func (w *webPushJSON) subscription() *device.WebPushSubscription {
	if w == nil {
		return nil
	}
	return &device.WebPushSubscription{Endpoint: w.Endpoint, P256dh: w.Keys.P256dh, Auth: w.Keys.Auth}
}

func handleRegisterDevice(devices *device.Service) fiber.Handler {
	type request struct {
		EnrollmentCode string       `json:"enrollment_code"`
		Name           string       `json:"name"`
		PublicKey      string       `json:"public_key"`
		PushURL        string       `json:"push_url"`
		WebPush        *webPushJSON `json:"web_push"`
	}
	type response struct {
		DeviceID        string `json:"device_id"`
		TOTPSecret      string `json:"totp_secret"`
		ServerPublicKey string `json:"server_public_key"`
		ServerKeyID     string `json:"server_key_id,omitempty"`
		// NextKey announces, during a push key rotation, the key that
		// replaces server_public_key, signed by it.
		NextKey        *signing.KeyStatement `json:"next_key,omitempty"`
		VAPIDPublicKey string                `json:"vapid_public_key"`
	}
	return func(c *fiber.Ctx) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		reg := device.Registration{EnrollmentCode: req.EnrollmentCode, Name: req.Name, PublicKey: req.PublicKey, PushURL: req.PushURL,
			WebPush: req.WebPush.subscription()}
		r, err := devices.Register(c.UserContext(), reg)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(response(*r))
	}
}

type deviceView struct {
	DeviceID   string     `json:"device_id"`
	Name       string     `json:"name"`
	Push       bool       `json:"push"`
	WebPush    bool       `json:"web_push"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func deviceViewOf(d *core.Device) deviceView {
	return deviceView{d.ID, d.Name, d.PushURL != "", d.WebPush.Endpoint != "", d.CreatedAt.UTC(), d.LastUsedAt}
}

func handleListDevices(devices *device.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := devices.List(c.UserContext(), claimsOf(c).UserID)
		if err != nil {
			return err
		}
		out := make([]deviceView, 0, len(list))
		for _, d := range list {
			out = append(out, deviceViewOf(d))
		}
		return c.JSON(fiber.Map{"devices": out})
	}
}

func handleDeleteDevice(devices *device.Service, approvals *approval.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := devices.Remove(c.UserContext(), claimsOf(c).UserID, c.Params("id")); err != nil {
			return err
		}
		// Its websockets hear of it and close.
		approvals.DeviceRemoved(c.UserContext(), strings.Clone(c.Params("id")))
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleSetWebPush renews or replaces the Web Push subscription of the
// device that signed the request; it answers the device as the list shows
// it. The signature is checked before the body is read: the body is what
// it covers.
func handleSetWebPush(approvals *approval.Service, devices *device.Service, pathPrefix string) fiber.Handler {
	type request struct {
		WebPush *webPushJSON `json:"web_push"`
	}
	return func(c *fiber.Ctx) error {
		dev, err := approvals.AuthenticateDevice(c.UserContext(), signedRequest(c, pathPrefix), c.Params("id"))
		if err != nil {
			return err
		}
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		d, err := devices.SetWebPush(c.UserContext(), dev, req.WebPush.subscription())
		if err != nil {
			return err
		}
		return c.JSON(deviceViewOf(d))
	}
}

// handleDeleteWebPush drops the Web Push subscription of the device that
// signed the request: it pulls from then on.
func handleDeleteWebPush(approvals *approval.Service, devices *device.Service, pathPrefix string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		dev, err := approvals.AuthenticateDevice(c.UserContext(), signedRequest(c, pathPrefix), c.Params("id"))
		if err != nil {
			return err
		}
		if err := devices.RemoveWebPush(c.UserContext(), dev); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// signedRequest hands a device-signed request to the approval service. The
// signed path is the one the device addressed: PUBLIC_URL's path prefix (a
// proxy strips it) + the request URI exactly as received.
func signedRequest(c *fiber.Ctx, pathPrefix string) approval.SignedRequest {
	return approval.SignedRequest{
		Method:        c.Method(),
		PathWithQuery: pathPrefix + string(c.Request().RequestURI()),
		Header:        func(name string) string { return strings.Clone(c.Get(name)) },
		Body:          c.Body(),
	}
}

func handlePullApprovals(approvals *approval.Service, pathPrefix string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		dev, err := approvals.AuthenticateDevice(c.UserContext(), signedRequest(c, pathPrefix), c.Params("id"))
		if err != nil {
			return err
		}
		list, err := approvals.Pending(c.UserContext(), dev)
		if err != nil {
			return err
		}
		approvals.ConfirmPushKey(c.UserContext(), dev.ID, c.Query("push_kid"), dev.PushKeySeen)
		answer := fiber.Map{"approvals": list}
		if kid, next := approvals.PushKeyNotice(dev); kid != "" {
			answer["push_kid"] = kid
			if next != nil && next.KID != c.Query("push_kid") {
				answer["next_key"] = next
			}
		}
		return c.JSON(answer)
	}
}

func handleCallback(approvals *approval.Service, pathPrefix string) fiber.Handler {
	type request struct {
		ApprovalID  string `json:"approval_id"`
		DeviceID    string `json:"device_id"`
		Decision    string `json:"decision"`
		MatchNumber *int   `json:"match_number"`
		Report      bool   `json:"report"`
	}
	return func(c *fiber.Ctx) error {
		// The signature covers the exact bytes: the claimed device is read
		// from them leniently, and a malformed body is reported only to a
		// device that authenticated.
		var req request
		invalid := decodeJSON(c, &req)
		deviceID := req.DeviceID
		if invalid != nil {
			var claimed struct {
				DeviceID string `json:"device_id"`
			}
			_ = json.Unmarshal(c.Body(), &claimed)
			deviceID = claimed.DeviceID
		}
		status, err := approvals.HandleSignedCallback(c.UserContext(), approval.SignedCallback{
			Request:  signedRequest(c, pathPrefix),
			DeviceID: deviceID,
			Callback: approval.Callback{ApprovalID: req.ApprovalID, Decision: req.Decision, MatchNumber: req.MatchNumber, Report: req.Report},
			Invalid:  invalid,
			PushKID:  c.Query("push_kid"),
		})
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": status})
	}
}

// pathPrefixOf is the path part of PUBLIC_URL without its trailing slash.
func pathPrefixOf(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.EscapedPath(), "/")
}

// handleVAPIDKey answers the VAPID public key devices subscribe to Web
// Push with (applicationServerKey), the one the registration answers too.
func handleVAPIDKey(devices *device.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.JSON(fiber.Map{"public_key": devices.VAPIDPublicKey})
	}
}
