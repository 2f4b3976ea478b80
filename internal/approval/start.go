package approval

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Started is a new approval with its ticket, which exists only here: the
// store keeps its hash.
type Started struct {
	Approval *core.Approval
	Ticket   string
	Devices  []*core.Device // the devices to push to, for Deliver
	text     *core.CodeText // a passwordless login's code, texted by Deliver
}

// Undelivered says whether Deliver has something to do for st: pushes to
// send, or a passwordless login's code to text.
func (st *Started) Undelivered() bool { return len(st.Devices) > 0 || st.text != nil }

// StartInput is where a login comes from and what it signs in to.
type StartInput struct {
	IP        string // the client's resolved address
	UserAgent string // as the browser sent it; truncated to 256 bytes
	// AppName is the application the user signs in to through approvald
	// (an OpenID Connect client's name), "" for approvald itself; it is
	// kept as core.CleanAppName makes it.
	AppName string
	// Identifier names the phone or email of a passwordless login (a keyed
	// hash of it, account.PasswordlessTarget.Key): a new passwordless push
	// for it supersedes the previous one, a placeholder's as a user's.
	Identifier string
}

// Start opens the second factor for a user whose password was right: a push
// approval when the user has a device and may be pushed to, else an SMS code
// at once. A new push approval supersedes the user's pending ones that were
// pushed, whatever their channel now, so a device can approve only the newest.
func (s *Service) Start(ctx context.Context, u *core.User, in StartInput) (*Started, error) {
	app := core.CleanAppName(in.AppName)
	now := s.Clock.Now()
	d, err := s.Limiter.Check(ctx, wrongCodesKey(u.ID), s.Config.WrongCodesPerHour, time.Hour, now)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		s.Audit.Record(ctx, u.ID, core.EventRateLimited, forApp("too many wrong codes in the last hour", app))
		return nil, core.RateLimited(d.RetryAfter)
	}
	devices, err := s.Devices.DevicesByUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	// Their answers will come soon: their keys are at hand then.
	s.keys.remember(devices...)
	ticket := core.NewSecret(32)
	a := &core.Approval{
		ID: core.NewID(core.PrefixApproval), UserID: u.ID, Status: core.ApprovalPending,
		TicketHash: HashTicket(ticket), IP: in.IP, UserAgent: truncate(in.UserAgent, 256), AppName: app, CreatedAt: now,
	}
	reason, err := s.pushRefusal(ctx, u.ID, len(devices), now)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		a.Channel, a.MatchNumber = core.ChannelPush, matchNumber()
		a.ExpiresAt, a.PushSentAt = now.Add(s.Config.ApprovalTTL), &now
		superseded, err := s.Approvals.SupersedePending(ctx, u.ID, now, Supersede(now))
		if err != nil {
			return nil, err
		}
		for _, old := range superseded {
			s.publish(ctx, old.ID, StateFrame(old, now))
		}
		s.announceToDevices(ctx, now, superseded...)
	} else {
		a.Channel, a.Reason, a.ExpiresAt = core.ChannelSMS, reason, now.Add(s.Config.CodeTTL)
		devices = nil
	}
	if err := s.Approvals.CreateApproval(ctx, a); err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "approval started", "approval_id", a.ID, "user_id", u.ID, "channel", a.Channel, "reason", a.Reason, "app", a.AppName)
	s.Audit.Record(ctx, u.ID, core.EventLoginStarted, forApp("second factor by "+string(a.Channel), a.AppName))
	if a.Channel == core.ChannelSMS {
		if err := s.sendCode(ctx, a, u.Phone, now, core.SMSLogin); err != nil {
			return nil, err
		}
	}
	return &Started{Approval: a, Ticket: ticket, Devices: devices}, nil
}

// pushRefusal says why this login may not use a push ("" when it may).
func (s *Service) pushRefusal(ctx context.Context, userID string, devices int, now time.Time) (string, error) {
	if devices == 0 {
		return core.ReasonNoDevice, nil
	}
	if _, paused, err := s.KV.Get(ctx, pushPauseKey(userID)); err != nil {
		return "", err
	} else if paused {
		return core.ReasonPushLimited, nil
	}
	d, err := s.Limiter.Hit(ctx, pushesKey(userID), s.Config.PushesPerWindow, s.Config.PushWindow, now)
	if err != nil {
		return "", err
	}
	if !d.Allowed {
		return core.ReasonPushLimited, nil
	}
	return "", nil
}

// HashTicket is how a ticket is stored: SHA-256 suffices for 256 random bits.
func HashTicket(ticket string) string {
	h := sha256.Sum256([]byte(ticket))
	return hex.EncodeToString(h[:])
}

// matchNumber is two digits, 10–99, from crypto/rand.
func matchNumber() int {
	n, err := rand.Int(rand.Reader, big.NewInt(core.MaxMatchNumber-core.MinMatchNumber+1))
	if err != nil {
		panic(err)
	}
	return core.MinMatchNumber + int(n.Int64())
}

// forApp is the detail of a security event that the login to app writes,
// naming the application when there is one: "second factor by push, sign
// in to Grafana".
func forApp(detail, app string) string {
	if app == "" {
		return detail
	}
	return detail + ", sign in to " + app
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func wrongCodesKey(userID string) string { return "wrongcodes:" + userID }
func pushesKey(userID string) string     { return "pushes:" + userID }
func pushPauseKey(userID string) string  { return "pushpause:" + userID }
func smsCooldownKey(id string) string    { return "cooldown:" + id }
