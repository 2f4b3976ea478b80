package approval

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/approvald/approvald/internal/clientcontext"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

// PushRequest is the body of a push, and an item of the pull listing.
type PushRequest struct {
	ApprovalID string `json:"approval_id"`
	DeviceID   string `json:"device_id"`
	Message    string `json:"message"`
	// App names the application the user signs in to through approvald
	// ("Sign in to Grafana"); absent for approvald itself.
	App string `json:"app,omitempty"`
	// Passwordless is true when the login gave no password: Message then
	// says so plainly (PasswordlessMessage).
	Passwordless bool        `json:"passwordless,omitempty"`
	Details      PushDetails `json:"details"`
	// Context is the login's client in words a person can judge ("near
	// Berlin, Germany · Firefox on Linux · Grafana"), computed from Details
	// and App when the push is made; absent when nothing is known.
	Context     *clientcontext.Context `json:"context,omitempty"`
	ExpiresAt   time.Time              `json:"expires_at"`
	CallbackURL string                 `json:"callback_url"`
	// NextKey, on a push to a device that has not confirmed the newest
	// push key, announces it, signed by the key before it.
	NextKey *signing.KeyStatement `json:"next_key,omitempty"`
}

// PushDetails tell the user where the login comes from.
type PushDetails struct {
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Time      time.Time `json:"time"`
}

func (s *Service) pushRequest(a *core.Approval, deviceID string) PushRequest {
	msg := "Login request"
	if a.Passwordless != "" {
		msg = PasswordlessMessage
	}
	return PushRequest{
		ApprovalID: a.ID, DeviceID: deviceID, Message: msg, App: a.AppName, Passwordless: a.Passwordless != "",
		Details:     PushDetails{IP: a.IP, UserAgent: a.UserAgent, Time: a.CreatedAt.UTC()},
		Context:     clientcontext.Of(s.Locator, a.IP, a.UserAgent, a.AppName),
		ExpiresAt:   a.ExpiresAt.UTC(),
		CallbackURL: s.Config.CallbackURL,
	}
}

// devicePush is the push request of a to d: during a push key rotation it
// announces the newest key to a device that has not confirmed it, on a
// push as on a websocket frame (a device may hear only the one).
func (s *Service) devicePush(a *core.Approval, d *core.Device) PushRequest {
	req := s.pushRequest(a, d.ID)
	if s.PushKeys != nil {
		req.NextKey = s.PushKeys.Announcement(d.PushKeySeen)
	}
	return req
}

// Deliver pushes a started approval to each device with a push_url or a
// Web Push subscription (both, when it has both). It runs after the login
// response was written, so login latency never includes it. When every
// push failed and no device pulls, the approval falls back to SMS, but for
// a passwordless login, which is decided on its channel or expires. A
// Web Push subscription the push service says is gone is dropped: its
// device pulls from then on (this login included). A passwordless login's
// code is texted here.
func (s *Service) Deliver(ctx context.Context, st *Started) {
	if st.text != nil {
		if err := s.Texts.SendCode(ctx, *st.text); err != nil {
			s.Log.WarnContext(ctx, "passwordless code not sent", "approval_id", st.Approval.ID, "err", err)
		}
	}
	// The devices' websockets first: they hear of it at once.
	s.offerToSockets(ctx, st.Approval, st.Devices)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		attempts int
		failures int
		pullers  int
	)
	for _, d := range st.Devices {
		web := d.WebPush.Endpoint != "" && s.WebPusher != nil
		if d.PushURL == "" && !web {
			pullers++
			continue
		}
		attempts++
		body, _ := json.Marshal(s.devicePush(st.Approval, d))
		wg.Add(1)
		go func(d *core.Device) {
			defer wg.Done()
			sent, pulls := s.push(ctx, st.Approval, d, body, web)
			detail := forApp(d.Name, st.Approval.AppName)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case sent:
				s.Audit.Record(ctx, d.UserID, core.EventPushSent, detail)
			case pulls:
				pullers++
				failures++
			default:
				s.Audit.Record(ctx, d.UserID, core.EventPushFailed, detail)
				failures++
			}
		}(d)
	}
	wg.Wait()
	if attempts == 0 || failures < attempts || pullers > 0 || st.Approval.Passwordless != "" {
		return
	}
	if err := s.fallBack(ctx, st.Approval.ID, core.ReasonPushFailed, core.SMSLogin); err != nil &&
		!core.IsCode(err, core.EAlreadyDecided) && !core.IsCode(err, core.EExpired) {
		s.Log.WarnContext(ctx, "fallback after failed push", "approval_id", st.Approval.ID, "err", err)
	}
}

// push sends body to d's push_url and, when web, to its Web Push
// subscription, at the same time. sent: one of them took it; pulls: none
// did, and the device is left with no way to be pushed to (its only
// subscription is gone), so it pulls.
func (s *Service) push(ctx context.Context, a *core.Approval, d *core.Device, body []byte, web bool) (sent, pulls bool) {
	var wg sync.WaitGroup
	var urlErr, webErr error
	if d.PushURL != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if urlErr = s.Pusher.Send(ctx, d.PushURL, body); urlErr != nil {
				s.Log.WarnContext(ctx, "push failed", "approval_id", a.ID, "device_id", d.ID, "err", urlErr)
			}
		}()
	}
	if web {
		ttl := a.ExpiresAt.Sub(s.Clock.Now())
		if webErr = s.WebPusher.SendWebPush(ctx, d.ID, d.WebPush, body, ttl); webErr != nil {
			s.Log.WarnContext(ctx, "web push failed", "approval_id", a.ID, "device_id", d.ID, "err", webErr)
		}
	}
	wg.Wait()
	gone := web && errors.Is(webErr, core.ErrWebPushGone)
	if gone {
		s.dropWebPush(ctx, d)
	}
	if (d.PushURL != "" && urlErr == nil) || (web && webErr == nil) {
		return true, false
	}
	return false, gone && d.PushURL == ""
}

// dropWebPush removes d's subscription, which the push service says is
// gone, and puts it on the user's trail.
func (s *Service) dropWebPush(ctx context.Context, d *core.Device) {
	dropped, err := s.Devices.DropWebPush(ctx, d.ID, d.WebPush.Endpoint)
	if err != nil {
		s.Log.WarnContext(ctx, "dropping a gone web push subscription", "device_id", d.ID, "err", err)
		return
	}
	if dropped {
		s.Log.InfoContext(ctx, "web push subscription gone, dropped", "device_id", d.ID)
		s.Audit.Record(ctx, d.UserID, core.EventWebPushGone, d.Name)
	}
}

// Pending lists the pending approvals a device may decide (pull mode):
// those offered to it, as a callback requires.
func (s *Service) Pending(ctx context.Context, dev *core.Device) ([]PushRequest, error) {
	list, err := s.Approvals.PendingForUser(ctx, dev.UserID, s.Clock.Now())
	if err != nil {
		return nil, err
	}
	out := make([]PushRequest, 0, len(list))
	for _, a := range list {
		if !offeredTo(a, dev) {
			continue
		}
		out = append(out, s.pushRequest(a, dev.ID))
	}
	return out, nil
}
