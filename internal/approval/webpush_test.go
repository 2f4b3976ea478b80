package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
)

// fakeWebPusher records each Web Push and answers err.
type fakeWebPusher struct {
	err  error
	mu   sync.Mutex
	sent []webPushSent
}

type webPushSent struct {
	deviceID string
	endpoint string
	ttl      time.Duration
	req      approval.PushRequest
}

func (w *fakeWebPusher) SendWebPush(_ context.Context, deviceID string, sub core.WebPush, payload []byte, ttl time.Duration) error {
	var req approval.PushRequest
	_ = json.Unmarshal(payload, &req)
	w.mu.Lock()
	w.sent = append(w.sent, webPushSent{deviceID, sub.Endpoint, ttl, req})
	w.mu.Unlock()
	return w.err
}

// webPushDevice enrolls a device of u with a subscription (and pushURL).
func (f *fixture) webPushDevice(t *testing.T, u *core.User, pushURL string) *core.Device {
	t.Helper()
	d, _ := f.device(t, u, pushURL)
	// The fixture's device has no subscription: store it again with one,
	// as registration would have.
	ok(t, f.db.DeleteDevice(context.Background(), u.ID, d.ID))
	d.WebPush = core.WebPush{Endpoint: "https://push.example.net/sub/" + d.ID, P256dh: []byte{4}, Auth: make([]byte, 16)}
	ok(t, f.db.CreateDevice(context.Background(), d))
	return d
}

// Deliver sends a Web Push to a subscribed device with the approval's
// remaining life as TTL; a device with a push_url too counts as pushed
// when either succeeds, and a device whose every way failed as failed.
func TestDeliverWebPush(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pushURL, urlFails, webFails bool
		fallsBack                   bool
	}{
		{pushURL: false, webFails: false, fallsBack: false},
		{pushURL: false, webFails: true, fallsBack: true},
		{pushURL: true, urlFails: true, webFails: false, fallsBack: false},
		{pushURL: true, urlFails: false, webFails: true, fallsBack: false},
		{pushURL: true, urlFails: true, webFails: true, fallsBack: true},
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			u := f.user(t)
			pushURL := ""
			if tc.pushURL {
				pushURL = "https://push.example/1"
			}
			d := f.webPushDevice(t, u, pushURL)
			var log pushLog
			f.pusher.send = log.record(t, tc.urlFails)
			web := &fakeWebPusher{}
			if tc.webFails {
				web.err = core.Unavailable("push endpoint", errors.New("503"))
			}
			f.svc.WebPusher = web
			st := f.start(t, u)
			f.follow(t, st.Approval.ID)
			f.clock.Advance(10 * time.Second)

			f.svc.Deliver(ctx, st)

			if len(web.sent) != 1 || web.sent[0].deviceID != d.ID || web.sent[0].endpoint != d.WebPush.Endpoint ||
				web.sent[0].req.ApprovalID != st.Approval.ID || web.sent[0].ttl != st.Approval.ExpiresAt.Sub(f.clock.Now()) {
				t.Fatalf("web pushes %+v", web.sent)
			}
			if want := map[bool]int{false: 0, true: 1}[tc.pushURL]; len(log.pushes) != want {
				t.Fatalf("%d pushes to push_url; want %d", len(log.pushes), want)
			}
			a := f.stored(t, st.Approval.ID)
			if fellBack := a.Channel == core.ChannelSMS; fellBack != tc.fallsBack {
				t.Fatalf("approval %s/%s; fall back %v", a.Channel, a.Reason, tc.fallsBack)
			}
			trail := f.trail(t, u.ID)
			if _, sent := trail[core.EventPushSent]; sent == tc.fallsBack {
				t.Fatalf("trail %v", trail)
			}
			if stored, _ := f.db.Device(ctx, d.ID); stored.WebPush.Endpoint == "" {
				t.Fatal("a failed (not gone) subscription was dropped")
			}
		})
	}
}

// A subscription the push service says is gone is dropped and on the
// trail; a device left without a way to be pushed to pulls, so the
// approval stays on push (no fallback) and the device lists it; a device
// with a push_url too keeps it.
func TestDeliverWebPushGone(t *testing.T) {
	t.Parallel()
	for _, withURL := range []bool{false, true} {
		t.Run(fmt.Sprintf("push_url %v", withURL), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			u := f.user(t)
			pushURL := ""
			if withURL {
				pushURL = "https://push.example/1"
			}
			d := f.webPushDevice(t, u, pushURL)
			var log pushLog
			f.pusher.send = log.record(t, true) // the push_url fails too
			f.svc.WebPusher = &fakeWebPusher{err: fmt.Errorf("410: %w", core.ErrWebPushGone)}
			st := f.start(t, u)
			f.follow(t, st.Approval.ID)

			f.svc.Deliver(ctx, st)

			stored, err := f.db.Device(ctx, d.ID)
			ok(t, err)
			if stored.WebPush.Endpoint != "" || stored.PushURL != pushURL {
				t.Fatalf("device after the 410: %+v", stored)
			}
			trail := f.trail(t, u.ID)
			if trail[core.EventWebPushGone] != d.Name {
				t.Fatalf("trail %v", trail)
			}
			a := f.stored(t, st.Approval.ID)
			if withURL {
				// Its push_url failed as well: every way failed.
				if a.Channel != core.ChannelSMS || a.Reason != core.ReasonPushFailed {
					t.Fatalf("approval %s/%s; want the push_failed fallback", a.Channel, a.Reason)
				}
				return
			}
			if a.Channel != core.ChannelPush || a.Reason != "" {
				t.Fatalf("approval %s/%s; want it still on push", a.Channel, a.Reason)
			}
			list, err := f.svc.Pending(ctx, stored)
			ok(t, err)
			if len(list) != 1 || list[0].ApprovalID != st.Approval.ID {
				t.Fatalf("pull listing %+v", list)
			}
		})
	}
}
