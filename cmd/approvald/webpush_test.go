package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/signing"
	"github.com/approvald/approvald/internal/webpush/webpushtest"
)

// webPushDevice registers a device of the user whose access token is at
// with a Web Push subscription to svc (and no push_url), as a browser
// would, and returns its state and subscription.
func webPushDevice(t *testing.T, s *e2e.Server, at string, svc *webpushtest.Service) (*authenticator.State, *webpushtest.Subscription, *e2e.Response) {
	t.Helper()
	st, err := authenticator.NewPending(s.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	sub := svc.Subscribe(t)
	r := s.Post(t, "/api/v1/devices", map[string]any{
		"enrollment_code": s.EnrollmentCode(t, at), "name": "Browser",
		"public_key": base64.RawURLEncoding.EncodeToString(st.PrivateKey.Public().(ed25519.PublicKey)),
		// As PushSubscription.toJSON() gives it, expirationTime and all.
		"web_push": map[string]any{"endpoint": sub.Endpoint, "expirationTime": nil, "keys": map[string]any{"p256dh": sub.P256dh, "auth": sub.Auth}},
	})
	e2e.Expect(t, r, http.StatusCreated)
	key, err := signing.DecodeB64(r.Str("server_public_key"))
	if err != nil {
		t.Fatal(err)
	}
	st.DeviceID, st.TOTPSecret, st.ServerPublicKey, st.Pending = r.Str("device_id"), r.Str("totp_secret"), key, false
	return st, sub, r
}

// receive hands a decrypted Web Push to the device's push receiver as if
// it had come to a push_url at the endpoint's path: the device verifies
// the server's signature, clock, nonce, addressee and callback as today.
func receive(t *testing.T, st *authenticator.State, sub *webpushtest.Subscription, svc *webpushtest.Service, m webpushtest.Message) authenticator.PushRequest {
	t.Helper()
	got := make(chan authenticator.PushRequest, 1)
	h := authenticator.PushHandler(st, func(p authenticator.PushRequest) { got <- p })
	h.Rejected = func(err error) { t.Errorf("the device refused the web push: %v", err) }
	req := httptest.NewRequest(http.MethodPost, strings.TrimPrefix(sub.Endpoint, svc.URL), strings.NewReader(m.Signed.Body))
	for k, v := range m.Signed.Headers {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("device answered %d: %s", w.Code, w.Body)
	}
	select {
	case p := <-got:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("the device did not accept the push")
		return authenticator.PushRequest{}
	}
}

// A device subscribed to Web Push gets each login encrypted from the test
// push service, with a VAPID token by the advertised key, verifies the
// server's signature inside and approves; when the push service answers
// 410 the subscription is dropped and the device pulls, this login and
// the next.
func TestWebPush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"VAPID_SUBJECT": "mailto:ops@example.com"})
		svc := webpushtest.New(t)
		vapid := s.Get(t, "/api/v1/push/vapid")
		e2e.Expect(t, vapid, http.StatusOK)
		k := vapid.Str("public_key")
		if raw, err := base64.RawURLEncoding.DecodeString(k); err != nil || len(raw) != 65 || raw[0] != 4 {
			t.Fatalf("vapid key %q", k)
		}
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")
		st, sub, reg := webPushDevice(t, s, at, svc)
		if reg.Str("vapid_public_key") != k {
			t.Fatalf("registration's vapid_public_key %q, GET /api/v1/push/vapid %q", reg.Str("vapid_public_key"), k)
		}
		dev := authenticator.NewClient(st)
		ctx := context.Background()

		l := s.StartLogin(t, u)
		if l.Channel != "push" {
			t.Fatalf("login %+v", l)
		}
		m := svc.Next(t, 1, 15*time.Second)
		if m.Err != nil {
			t.Fatalf("the push service refused the push: %v", m.Err)
		}
		if m.K != k || m.Claims.Aud != svc.URL || m.Claims.Sub != "mailto:ops@example.com" {
			t.Fatalf("vapid k %q claims %+v", m.K, m.Claims)
		}
		if m.TTL <= 0 || m.TTL > 120 || m.Header.Get("Urgency") != "high" || len(m.Header.Get("Topic")) == 0 || len(m.Header.Get("Topic")) > 32 {
			t.Fatalf("headers %v", m.Header)
		}
		if bytes.Contains(m.Plaintext, []byte(l.ID)) == false {
			t.Fatalf("plaintext %s does not name the approval", m.Plaintext)
		}
		p := receive(t, st, sub, svc, m)
		if p.ApprovalID != l.ID || p.DeviceID != st.DeviceID || !p.ExpiresAt.Equal(l.ExpiresAt) {
			t.Fatalf("push %+v", p)
		}
		n := l.Number
		if status, err := dev.Decide(ctx, l.ID, true, &n, false); err != nil || status != "approved" {
			t.Fatalf("decide: %q %v", status, err)
		}
		s.Session(t, l)

		// A newer login to the same device carries the same Topic.
		topic := m.Header.Get("Topic")
		svc.SetStatus(http.StatusGone)
		gone := s.StartLogin(t, u)
		if m := svc.Next(t, 2, 15*time.Second); m.Err != nil || m.Header.Get("Topic") != topic {
			t.Fatalf("second push: %v, topic %q want %q", m.Err, m.Header.Get("Topic"), topic)
		}
		// The subscription is dropped, on the trail, and the device pulls
		// this login: it stays on push (no push_failed fallback). The
		// event is written after the drop, so both are waited for.
		deadline := time.Now().Add(10 * time.Second)
		for {
			list := s.Get(t, "/api/v1/devices", e2e.Bearer(at)...)
			e2e.Expect(t, list, http.StatusOK)
			d := list.Body["devices"].([]any)[0].(map[string]any)
			events := s.Get(t, "/api/v1/me/events", e2e.Bearer(at)...)
			e2e.Expect(t, events, http.StatusOK)
			onTrail := strings.Contains(string(events.Raw), `"web_push_gone"`)
			if d["web_push"] == false && d["push"] == false && onTrail {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the gone subscription was not dropped (%s) or not on the trail (%s)", list.Raw, events.Raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if a := s.Approval(t, gone); a.Str("channel") != "push" || a.Str("status") != "pending" {
			t.Fatalf("after the 410 the login is %s", a.Raw)
		}
		pending, err := dev.Pending(ctx)
		if err != nil || len(pending) != 1 || pending[0].ApprovalID != gone.ID {
			t.Fatalf("pull: %+v %v", pending, err)
		}

		// The next login is as for a device without push: nothing goes to
		// the push service, the device pulls it and approves.
		next := s.StartLogin(t, u)
		if next.Channel != "push" {
			t.Fatalf("next login %+v", next)
		}
		pending, err = dev.Pending(ctx)
		if err != nil || len(pending) != 1 || pending[0].ApprovalID != next.ID {
			t.Fatalf("pull: %+v %v", pending, err)
		}
		n = next.Number
		if status, err := dev.Decide(ctx, next.ID, true, &n, false); err != nil || status != "approved" {
			t.Fatalf("decide: %q %v", status, err)
		}
		s.Session(t, next)
		time.Sleep(100 * time.Millisecond)
		if got := len(svc.Messages()); got != 2 {
			t.Fatalf("the push service got %d messages, want 2", got)
		}
	})
}

// A web_push endpoint obeys push_url's rules at registration.
func TestWebPushRegistrationRefused(t *testing.T) {
	s := startServer(t, e2e.Backends[0], nil)
	u := s.SignUp(t)
	at := s.LoginSMS(t, u).Str("access_token")
	svc := webpushtest.New(t)
	sub := svc.Subscribe(t)
	for _, endpoint := range []string{"http://push.example.com/x", "https://10.0.0.1/x", "https://169.254.169.254/x", "ftp://push.example.com/"} {
		r := s.Post(t, "/api/v1/devices", map[string]any{
			"enrollment_code": s.EnrollmentCode(t, at), "name": "Browser",
			"public_key": base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
			"web_push":   map[string]any{"endpoint": endpoint, "keys": map[string]any{"p256dh": sub.P256dh, "auth": sub.Auth}},
		})
		e2e.Expect(t, r, http.StatusBadRequest, "invalid_push_url")
		var body struct {
			Error struct{ Field string } `json:"error"`
		}
		_ = json.Unmarshal(r.Raw, &body)
		if body.Error.Field != "web_push.endpoint" {
			t.Fatalf("%s: %s", endpoint, r.Raw)
		}
	}
}

// The VAPID key is made on first start and kept: a restart on the same
// database advertises the same key (devices' subscriptions depend on it).
func TestVAPIDKeyIsKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		first := startServer(t, b, nil)
		r := first.Get(t, "/api/v1/push/vapid")
		e2e.Expect(t, r, http.StatusOK)
		if r.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		if err := first.Stop(); err != nil {
			t.Fatal(err)
		}
		second := e2e.Start(t, e2e.Options{Run: run, Env: first.Env, SMS: first.SMS})
		again := second.Get(t, "/api/v1/push/vapid")
		e2e.Expect(t, again, http.StatusOK)
		if again.Str("public_key") == "" || again.Str("public_key") != r.Str("public_key") {
			t.Fatalf("after a restart the VAPID key is %q, was %q", again.Str("public_key"), r.Str("public_key"))
		}
	})
}
