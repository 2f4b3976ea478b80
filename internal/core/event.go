package core

import (
	"context"
	"net/netip"
	"time"
)

// Event kinds of the audit trail.
const (
	EventLoginStarted = "login_started"
	EventLoginFailed  = "login_failed"
	EventPushSent     = "push_sent"
	EventPushFailed   = "push_failed"
	// EventWebPushGone: the push service said a device's Web Push
	// subscription is gone (404 or 410), so it was dropped: the device pulls.
	EventWebPushGone = "web_push_gone"
	// EventWebPushChanged: a device gave a new Web Push subscription
	// (renewed, or moved to another push service); EventWebPushRemoved: it
	// dropped its subscription and pulls.
	EventWebPushChanged = "web_push_changed"
	EventWebPushRemoved = "web_push_removed"
	EventApproved       = "approved"
	EventDenied         = "denied"
	EventReported       = "reported"
	EventCodeFailed     = "code_failed"
	EventLocked         = "locked"
	EventRateLimited    = "rate_limited"
	EventSessionRevoked = "session_revoked"
	EventDeviceAdded    = "device_added"
	EventDeviceRemoved  = "device_removed"
	EventPasswordChange = "password_changed"
	EventTwoFactor      = "two_factor_changed"
	// Passkeys: added and removed, a login with one, and what a login
	// refused or noticed about a credential (a sign counter that did not go
	// up, a change of its backup state).
	EventPasskeyAdded        = "passkey_added"
	EventPasskeyRemoved      = "passkey_removed"
	EventPasskeyLogin        = "passkey_login"
	EventPasskeyCounter      = "passkey_counter_regressed"
	EventPasskeyBackupChange = "passkey_backup_changed"
	EventPasswordless        = "passwordless_changed"
	// EventSMSBudgetExhausted: a code was not sent because the service-wide
	// SMS budget (SMS_BUDGET_PER_HOUR) is spent.
	EventSMSBudgetExhausted = "sms_budget_exhausted"
)

// SecurityEvent is one entry of a user's security trail.
type SecurityEvent struct {
	ID        string
	UserID    string
	Kind      string
	Detail    string // short, never a secret
	IP        string
	UserAgent string
	CreatedAt time.Time
}

// SecurityEventStore keeps the security trail.
type SecurityEventStore interface {
	AddEvent(ctx context.Context, e *SecurityEvent) error
	// EventsByUser returns the user's newest events first.
	EventsByUser(ctx context.Context, userID string, limit int) ([]*SecurityEvent, error)
}

// maxUserAgent bounds the user agent an event keeps.
const maxUserAgent = 256

// NewSecurityEvent is an event of the user's trail at now, from the client that ctx
// carries.
func NewSecurityEvent(ctx context.Context, userID, kind, detail string, now time.Time) *SecurityEvent {
	c := ClientFrom(ctx)
	ua := c.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return &SecurityEvent{ID: NewID(PrefixEvent), UserID: userID, Kind: kind, Detail: detail, IP: c.IP, UserAgent: ua, CreatedAt: now}
}

// Auditor records security events. Recording never fails the action it
// records: an implementation logs its own failures.
type Auditor interface {
	Record(ctx context.Context, userID, kind, detail string)
}

// Client is who is on the other end of a request, as far as the HTTP layer
// can tell; the audit trail and per-IP limits read it from the context.
type Client struct {
	IP        string // a parsed address (netip), never header text; "" when unknown
	UserAgent string
}

// LimitKey is the part of the client's address that per-IP limits count
// by: an IPv4 address, or an IPv6 address's /64, since one subscriber is
// usually handed a whole /64 and could otherwise take a fresh address per
// request. "" when the address is unknown.
func (c Client) LimitKey() string {
	addr, err := netip.ParseAddr(c.IP)
	if err != nil {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

type clientKey struct{}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the client carried by ctx (zero when none).
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}
