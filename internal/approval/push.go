package approval

import (
	"context"
	"encoding/json"
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

// Deliver pushes a started approval to each device with a push_url. It runs
// after the login response was written, so login latency never includes it.
// When every push failed and no device pulls, the approval falls back to
// SMS, but for a passwordless login, which is decided on its channel or
// expires. A passwordless login's code is texted here.
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
		if d.PushURL == "" {
			pullers++
			continue
		}
		attempts++
		req := s.pushRequest(st.Approval, d.ID)
		if s.PushKeys != nil {
			req.NextKey = s.PushKeys.Announcement(d.PushKeySeen)
		}
		body, _ := json.Marshal(req)
		wg.Add(1)
		go func(d *core.Device) {
			defer wg.Done()
			if err := s.Pusher.Send(ctx, d.PushURL, body); err != nil {
				s.Log.WarnContext(ctx, "push failed", "approval_id", st.Approval.ID, "device_id", d.ID, "err", err)
				s.Audit.Record(ctx, d.UserID, core.EventPushFailed, forApp(d.Name, st.Approval.AppName))
				mu.Lock()
				failures++
				mu.Unlock()
				return
			}
			s.Audit.Record(ctx, d.UserID, core.EventPushSent, forApp(d.Name, st.Approval.AppName))
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
