package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/signing"
	"github.com/approvald/approvald/internal/webpush/webpushtest"
)

// subscriptionJSON is sub as the device sends it.
func subscriptionJSON(sub *webpushtest.Subscription) authenticator.WebPushSubscription {
	var w authenticator.WebPushSubscription
	w.Endpoint, w.Keys.P256dh, w.Keys.Auth = sub.Endpoint, sub.P256dh, sub.Auth
	return w
}

// A device renews its Web Push subscription with a signed PUT and drops it
// with a signed DELETE, without enrolling again: unsigned, foreign-signed
// and tampered requests change nothing; an endpoint push_url's rules
// refuse is refused and the old subscription stays; after the renewal the
// next login goes to the new subscription only, and the device verifies
// it there; after the DELETE the next login is pulled; both changes are on
// the owner's trail.
func TestWebPushRenewal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		// Requests without X-Device-Id count their refusals under one key
		// per client address, on the Redis every test server shares.
		s := startServer(t, b, map[string]string{"LIMIT_CALLBACK_FAILURES_PER_DEVICE": "1000000"})
		svc := webpushtest.New(t)
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")
		st, old, _ := webPushDevice(t, s, at, svc)
		dev := authenticator.NewClient(st)
		other := s.EnrollDevice(t, s.LoginSMS(t, s.SignUp(t)).Str("access_token"), false)
		ctx := context.Background()
		path := "/api/v1/devices/" + st.DeviceID + "/web-push"
		renewed := svc.Subscribe(t)
		body, err := json.Marshal(map[string]any{"web_push": subscriptionJSON(renewed)})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("refused", func(t *testing.T) {
			for _, method := range []string{http.MethodPut, http.MethodDelete} {
				e2e.Expect(t, s.Do(t, e2e.Request{Method: method, Path: path, Body: body}), http.StatusUnauthorized, "invalid_signature")
				// Another device's signature, for this device's path.
				h := signing.Sign(other.State.PrivateKey, method, path, other.State.DeviceID, body, time.Now())
				e2e.Expect(t, s.Do(t, e2e.Request{Method: method, Path: path, Body: body, Headers: headerMap(h)}), http.StatusUnauthorized, "invalid_signature")
			}
			// This device's signature over another body.
			h := signing.Sign(st.PrivateKey, http.MethodPut, path, st.DeviceID, []byte(`{"web_push":null}`), time.Now())
			e2e.Expect(t, s.Do(t, e2e.Request{Method: http.MethodPut, Path: path, Body: body, Headers: headerMap(h)}), http.StatusUnauthorized, "invalid_signature")

			// Signed by the device itself, an endpoint push_url's rules
			// refuse (private, link-local, plain http, not http).
			for _, endpoint := range []string{"https://10.0.0.1/x", "https://169.254.169.254/latest", "http://push.example.com/x", "ftp://push.example.com/"} {
				w := subscriptionJSON(renewed)
				w.Endpoint = endpoint
				_, err := dev.SetWebPush(ctx, w)
				var ae *authenticator.APIError
				if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Err.Code != core.EInvalidPushURL || ae.Err.Field != "web_push.endpoint" {
					t.Fatalf("%s: %v", endpoint, err)
				}
			}
			w := subscriptionJSON(renewed)
			w.Keys.Auth = "AAAA"
			if _, err := dev.SetWebPush(ctx, w); !core.IsCode(err, core.EInvalidRequest) {
				t.Fatalf("a short auth secret: %v", err)
			}
			list := s.Get(t, "/api/v1/devices", e2e.Bearer(at)...)
			e2e.Expect(t, list, http.StatusOK)
			if d := list.Body["devices"].([]any)[0].(map[string]any); d["web_push"] != true {
				t.Fatalf("after refused changes: %s", list.Raw)
			}
		})

		// The renewal: the answer is the device as the list shows it.
		info, err := dev.SetWebPush(ctx, subscriptionJSON(renewed))
		if err != nil || info.DeviceID != st.DeviceID || !info.WebPush || info.Push || info.Name != "Browser" {
			t.Fatalf("renewal: %+v %v", info, err)
		}
		l := s.StartLogin(t, u)
		m := svc.Next(t, 1, 15*time.Second)
		if m.Err != nil || m.Endpoint != renewed.Endpoint {
			t.Fatalf("the push went to %s (err %v), want the renewed %s", m.Endpoint, m.Err, renewed.Endpoint)
		}
		if p := receive(t, st, renewed, svc, m); p.ApprovalID != l.ID {
			t.Fatalf("push %+v, want approval %s", p, l.ID)
		}
		n := l.Number
		if status, err := dev.Decide(ctx, l.ID, true, &n, false); err != nil || status != "approved" {
			t.Fatalf("decide: %q %v", status, err)
		}
		s.Session(t, l)

		// The drop: the device pulls the next login.
		if err := dev.DropWebPush(ctx); err != nil {
			t.Fatal(err)
		}
		list := s.Get(t, "/api/v1/devices", e2e.Bearer(at)...)
		e2e.Expect(t, list, http.StatusOK)
		if d := list.Body["devices"].([]any)[0].(map[string]any); d["web_push"] != false || d["push"] != false {
			t.Fatalf("after the DELETE: %s", list.Raw)
		}
		pulled := s.StartLogin(t, u)
		if pulled.Channel != "push" {
			t.Fatalf("login after the DELETE %+v", pulled)
		}
		pending, err := dev.Pending(ctx)
		if err != nil || len(pending) != 1 || pending[0].ApprovalID != pulled.ID {
			t.Fatalf("pull: %+v %v", pending, err)
		}
		n = pulled.Number
		if status, err := dev.Decide(ctx, pulled.ID, true, &n, false); err != nil || status != "approved" {
			t.Fatalf("decide: %q %v", status, err)
		}
		s.Session(t, pulled)

		// Subscribed again, the next login is pushed again; by then no
		// message went to the old subscription, nor for the pulled login.
		again := svc.Subscribe(t)
		if info, err := dev.SetWebPush(ctx, subscriptionJSON(again)); err != nil || !info.WebPush {
			t.Fatalf("subscribing again: %+v %v", info, err)
		}
		third := s.StartLogin(t, u)
		if m := svc.Next(t, 2, 15*time.Second); m.Err != nil || m.Endpoint != again.Endpoint || !strings.Contains(m.Signed.Body, third.ID) {
			t.Fatalf("second message: %s %v %s", m.Endpoint, m.Err, m.Signed.Body)
		}
		for _, m := range svc.Messages() {
			if m.Endpoint == old.Endpoint || strings.Contains(m.Signed.Body, pulled.ID) {
				t.Fatalf("a message went to %s for %s", m.Endpoint, m.Signed.Body)
			}
		}

		events := s.Get(t, "/api/v1/me/events", e2e.Bearer(at)...)
		e2e.Expect(t, events, http.StatusOK)
		var trail struct {
			Events []struct{ Kind, Detail string } `json:"events"`
		}
		events.Decode(t, &trail)
		kinds := map[string]int{}
		for _, e := range trail.Events {
			if strings.HasPrefix(e.Kind, "web_push_") {
				kinds[e.Kind]++
				if e.Detail != "Browser" {
					t.Fatalf("event %+v", e)
				}
			}
		}
		if kinds["web_push_changed"] != 2 || kinds["web_push_removed"] != 1 || len(kinds) != 2 {
			t.Fatalf("trail %s", events.Raw)
		}
	})
}
