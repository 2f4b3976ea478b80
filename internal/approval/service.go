package approval

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/approvald/approvald/internal/clientcontext"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/session"
)

// Config holds the durations and limits of the approval loop.
type Config struct {
	ApprovalTTL time.Duration // life of a push approval (APPROVAL_TTL)
	PushTimeout time.Duration // when a pending push is announced push_timeout
	CodeTTL     time.Duration // life of an SMS code and of an SMS approval
	// DeviceWSTicketTTL is the life of a device websocket ticket
	// (DEVICE_WS_TICKET_TTL, 30 s).
	DeviceWSTicketTTL time.Duration
	CallbackURL       string // PUBLIC_URL + /api/v1/callbacks/approval
	// PathPrefix is PUBLIC_URL's path without its trailing slash: the
	// frames of a device websocket are signed over it + DeviceWSPath.
	PathPrefix string

	WrongCodesPerHour int           // per user, across approvals (10)
	PushesPerWindow   int           // push approvals per user per PushWindow (5)
	PushWindow        time.Duration // 15 min
	ReportPause       time.Duration // pushes pause this long after "not me" (1 h)
	SMSCooldown       time.Duration // between two SMS sends of one approval (core.ResendCooldown)

	CallbackFailures      int           // failed signed requests per device and IP (20)
	CallbackFailureWindow time.Duration // 15 min

	// PushKeySwitchDelay is how long after every device confirmed a new
	// push key it starts to sign: every instance reloads its keys meanwhile.
	PushKeySwitchDelay time.Duration
}

// DefaultConfig has the contract's figures.
func DefaultConfig() Config {
	return Config{
		ApprovalTTL: 120 * time.Second, PushTimeout: 30 * time.Second, CodeTTL: 10 * time.Minute,
		DeviceWSTicketTTL: DeviceWSTicketTTL,
		WrongCodesPerHour: 10, PushesPerWindow: 5, PushWindow: 15 * time.Minute,
		ReportPause: time.Hour, SMSCooldown: core.ResendCooldown,
		CallbackFailures: 20, CallbackFailureWindow: 15 * time.Minute,
	}
}

// Texter sends code SMS against the phone's, the client's and the
// service's budgets.
type Texter interface {
	SendCode(ctx context.Context, c core.CodeText) error
}

// Pusher delivers a signed push to a device's push_url.
type Pusher interface {
	Send(ctx context.Context, pushURL string, payload []byte) error
}

// WebPusher delivers a push (the same JSON a push_url gets) to a device's
// Web Push subscription, signed, encrypted and with a VAPID token
// (internal/webpush); ttl is how long the push service may hold it, and
// deviceID keys its Topic, so a newer push to the device replaces an
// older one. An error wrapping core.ErrWebPushGone says the subscription
// will never deliver again.
type WebPusher interface {
	SendWebPush(ctx context.Context, deviceID string, sub core.WebPush, payload []byte, ttl time.Duration) error
}

// Opener opens secrets sealed at rest (the devices' TOTP secrets).
type Opener interface {
	Open(sealed, aad []byte) ([]byte, error)
}

// TokenIssuer swaps an approved approval for a session.
type TokenIssuer interface {
	Issue(ctx context.Context, userID string, amr []string, authTime time.Time) (*session.TokenPair, error)
}

// Service runs the approval loop. Build one with New.
type Service struct {
	Deps

	keys deviceKeys
}

// Deps are what a Service is built from: every field must be set, but Local.
type Deps struct {
	Config    Config
	Approvals core.ApprovalStore
	Devices   core.DeviceStore
	Users     core.UserStore
	Broker    core.Broker
	KV        core.KV
	Limiter   core.Limiter
	Texts     Texter
	Codes     *otp.CodeHasher
	Pusher    Pusher
	Secrets   Opener
	Tokens    TokenIssuer
	Audit     core.Auditor
	Clock     core.Clock
	Log       *slog.Logger
	// ServerKey signs what the server sends to devices; its public half is
	// the server_public_key a device receives when it enrolls.
	ServerKey ed25519.PrivateKey
	// PushKeys, when set, are the push keys that rotate: pushes and pull
	// answers announce a new one to the devices that have not confirmed it.
	PushKeys PushKeys `deps:"optional"`
	// LateAudit records the security events of a passwordless start off
	// the request's path (a store.AuditQueue): a placeholder writes none,
	// so a synchronous write would tell a user from nobody. Audit when nil.
	LateAudit core.Auditor `deps:"optional"`
	// WebPusher sends to Web Push subscriptions; without it a device with
	// only a subscription pulls.
	WebPusher WebPusher `deps:"optional"`
	// Local, when set, hands each message to this process's waiting
	// browsers before it is published (hub.Hub.Deliver); it may be nil.
	Local Deliverer `deps:"optional"`
	// Locator names the place of a login's address in its push (GEOIP_DB);
	// nil: the push's context has no location.
	Locator *clientcontext.Locator `deps:"optional"`
}

// New returns the service on d, or an error naming each field of d that is
// not set.
func New(d Deps) (*Service, error) {
	if err := core.CheckDeps("approval.New", d); err != nil {
		return nil, err
	}
	return &Service{Deps: d}, nil
}

// lateAudit is LateAudit, or Audit when there is none.
func (s *Service) lateAudit() core.Auditor {
	if s.LateAudit != nil {
		return s.LateAudit
	}
	return s.Audit
}

// Deliverer hands a message to this process's waiters ahead of the broker,
// which then must be given the very same bytes.
type Deliverer interface {
	Deliver(channel string, payload []byte)
}

// publish announces a change; a failure is logged, not returned, because the
// change is already committed and every reader re-reads state on connect and
// on resubscribe, so nothing is lost.
func (s *Service) publish(ctx context.Context, id string, f Frame) {
	// The wall clock, not s.Clock: the time only measures delivery latency.
	payload, channel := encodeEnvelope(f, time.Now()), Topic(id)
	if s.Local != nil {
		s.Local.Deliver(channel, payload)
	}
	if err := s.Broker.Publish(ctx, channel, payload); err != nil {
		s.Log.WarnContext(ctx, "publish failed", "approval_id", id, "err", err)
	}
}
