package webpush_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/signing"
	"github.com/approvald/approvald/internal/webpush"
	"github.com/approvald/approvald/internal/webpush/webpushtest"
)

func newClient(t *testing.T, p push.Policy) (*webpush.Client, ed25519.PublicKey) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	vapid, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := webpush.New(webpush.Config{ServerKey: priv, VAPID: vapid, Subject: "mailto:ops@example.com", Timeout: 2 * time.Second, Backoff: 10 * time.Millisecond, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, pub
}

// TestSendWebPush: the test push service receives a message it can
// decrypt, with a valid VAPID token by the client's key, the headers of
// the contract, and inside, the push signed as a push_url's.
func TestSendWebPush(t *testing.T) {
	svc := webpushtest.New(t)
	sub := svc.Subscribe(t)
	c, serverPub := newClient(t, push.Policy{AllowLoopback: true})
	payload := []byte(`{"approval_id":"apr_1","device_id":"dev_1","message":"Login request"}`)
	topic := webpush.Topic("dev_1")
	if err := c.SendWebPush(context.Background(), "dev_1", sub.WebPush(), payload, 90*time.Second+500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	m := svc.Next(t, 1, time.Second)
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if m.K != c.PublicKey() || m.TTL != 90 || m.Header.Get("Urgency") != "high" || m.Header.Get("Topic") != topic ||
		m.Claims.Sub != "mailto:ops@example.com" {
		t.Fatalf("message: k %q ttl %d headers %v claims %+v", m.K, m.TTL, m.Header, m.Claims)
	}
	if len(topic) > 32 || webpush.Topic("dev_1") != topic || webpush.Topic("dev_2") == topic {
		t.Fatalf("topic %q is not a stable per-device token", topic)
	}
	if m.Signed.Body != string(payload) {
		t.Fatalf("body %q", m.Signed.Body)
	}
	// Padded to the one 4096-byte record: the relay cannot tell a push
	// naming an application and a city from a short one by its size.
	if m.BodySize != 4096 {
		t.Fatalf("encrypted body of %d bytes, want 4096", m.BodySize)
	}
	if ua := m.Header.Get("User-Agent"); ua != "approvald-push/1" {
		t.Fatalf("User-Agent %q", ua)
	}
	if kid := m.Signed.Headers[signing.HeaderKeyID]; kid != signing.KeyID(serverPub) {
		t.Fatalf("X-Key-Id %q, want the server key's kid", kid)
	}
	h, err := signing.ParseHeaders(func(k string) string { return m.Signed.Headers[k] })
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(sub.Endpoint, svc.URL)
	if err := signing.Verify(serverPub, http.MethodPost, path, h, []byte(m.Signed.Body)); err != nil {
		t.Fatalf("the push's signature: %v", err)
	}
}

// TestSendWebPushGone: 404 and 410 say the subscription is gone, at once;
// 5xx and 429 are tried again (3 attempts) and then unavailable.
func TestSendWebPushGone(t *testing.T) {
	svc := webpushtest.New(t)
	sub := svc.Subscribe(t)
	c, _ := newClient(t, push.Policy{AllowLoopback: true})
	for _, tc := range []struct {
		status, attempts int
		gone             bool
	}{{http.StatusGone, 1, true}, {http.StatusNotFound, 1, true}, {http.StatusInternalServerError, 3, false},
		{http.StatusTooManyRequests, 3, false}, {http.StatusBadRequest, 1, false}} {
		svc.SetStatus(tc.status)
		before := len(svc.Messages())
		err := c.SendWebPush(context.Background(), "dev_1", sub.WebPush(), []byte(`{}`), time.Minute)
		if errors.Is(err, core.ErrWebPushGone) != tc.gone || err == nil {
			t.Errorf("%d: %v", tc.status, err)
		}
		if !tc.gone && !core.IsCode(err, core.EUnavailable) {
			t.Errorf("%d: %v, want unavailable", tc.status, err)
		}
		if n := len(svc.Messages()) - before; n != tc.attempts {
			t.Errorf("%d: %d attempts, want %d", tc.status, n, tc.attempts)
		}
	}
}

// TestSendWebPushPolicy: the production Policy refuses a loopback endpoint
// before anything is sent (the dial control that refuses it at connect
// time is push.Policy's, tested in internal/push).
func TestSendWebPushPolicy(t *testing.T) {
	svc := webpushtest.New(t)
	sub := svc.Subscribe(t)
	c, _ := newClient(t, push.Policy{})
	if err := c.SendWebPush(context.Background(), "dev_1", sub.WebPush(), []byte(`{}`), time.Minute); !core.IsCode(err, core.EInvalidPushURL) {
		t.Fatalf("loopback endpoint: %v", err)
	}
	if n := len(svc.Messages()); n != 0 {
		t.Fatalf("%d messages reached the service", n)
	}
}

// TestSendWebPushSizes: payloads up to what one record holds arrive whole;
// a longer one is refused before anything is sent, and not tried again.
func TestSendWebPushSizes(t *testing.T) {
	svc := webpushtest.New(t)
	sub := svc.Subscribe(t)
	c, _ := newClient(t, push.Policy{AllowLoopback: true})
	for i, n := range []int{0, 1, 1500, 3000} {
		payload := []byte(`{"m":"` + strings.Repeat("x", n) + `"}`)
		if err := c.SendWebPush(context.Background(), "dev_1", sub.WebPush(), payload, time.Minute); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if m := svc.Next(t, i+1, time.Second); m.Err != nil || m.Signed.Body != string(payload) || m.BodySize != 4096 {
			t.Fatalf("%d bytes: %v, body size %d", n, m.Err, m.BodySize)
		}
	}
	before := len(svc.Messages())
	err := c.SendWebPush(context.Background(), "dev_1", sub.WebPush(), []byte(`"`+strings.Repeat("x", 4096)+`"`), time.Minute)
	if !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("a payload over one record: %v", err)
	}
	if n := len(svc.Messages()) - before; n != 0 {
		t.Fatalf("%d requests for a payload over one record", n)
	}
}

// TestVAPIDSubject: the subject is a mailto: address or an https: URL, and
// reaches the token as given.
func TestVAPIDSubject(t *testing.T) {
	for _, s := range []string{"mailto:ops@example.com", "https://login.example.com", "https://login.example.com/contact"} {
		if err := webpush.CheckSubject(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "ops@example.com", "http://login.example.com", "https://", "mailto:", "mailto:nobody", "mailto:a@b c"} {
		if err := webpush.CheckSubject(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	svc := webpushtest.New(t)
	sub := svc.Subscribe(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	vapid, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := webpush.New(webpush.Config{ServerKey: priv, VAPID: vapid, Subject: "https://login.example.com",
		Policy: push.Policy{AllowLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendWebPush(context.Background(), "dev_1", sub.WebPush(), []byte(`{}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if m := svc.Next(t, 1, time.Second); m.Err != nil || m.Claims.Sub != "https://login.example.com" {
		t.Fatalf("%v, sub %q", m.Err, m.Claims.Sub)
	}
	if _, err := webpush.New(webpush.Config{ServerKey: priv, VAPID: vapid, Subject: "http://localhost:8080"}); err == nil {
		t.Fatal("New accepted an http: subject")
	}
}
