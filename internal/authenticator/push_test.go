package authenticator

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/signing"
)

// pushFixture is a device state and the server key that signs its pushes.
type pushFixture struct {
	state     *State
	serverKey ed25519.PrivateKey
	now       time.Time
}

func newPushFixture(t *testing.T) *pushFixture {
	t.Helper()
	serverPub, serverKey, _ := ed25519.GenerateKey(nil)
	_, deviceKey, _ := ed25519.GenerateKey(nil)
	return &pushFixture{
		state: &State{
			Server:          "https://login.example.com/auth",
			DeviceID:        "dev_aaaaaaaaaaaaaaaaaaaaaaaaaa",
			PrivateKey:      deviceKey,
			TOTPSecret:      otp.EncodeSecret(otp.NewTOTPSecret()),
			ServerPublicKey: serverPub,
		},
		serverKey: serverKey,
		now:       time.Unix(1764000000, 0),
	}
}

func (f *pushFixture) body(change func(*PushRequest)) []byte {
	p := PushRequest{
		ApprovalID: "apr_bbbbbbbbbbbbbbbbbbbbbbbbbb", DeviceID: f.state.DeviceID, Message: "Login request",
		Details:     PushDetails{IP: "203.0.113.7", UserAgent: "Firefox", Time: f.now},
		ExpiresAt:   f.now.Add(2 * time.Minute),
		CallbackURL: "https://login.example.com/auth/api/v1/callbacks/approval",
	}
	if change != nil {
		change(&p)
	}
	b, _ := json.Marshal(p)
	return b
}

// request is a push as the server's push client sends it, signed at signedAt.
func (f *pushFixture) request(target string, body []byte, signedAt time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	signing.Sign(f.serverKey, http.MethodPost, target, "", body, signedAt).Apply(r.Header)
	return r
}

// receiver returns a PushReceiver on the fixture's clock and the channels
// of accepted and rejected pushes.
func (f *pushFixture) receiver() (*PushReceiver, chan PushRequest, chan error) {
	accepted, rejected := make(chan PushRequest, 4), make(chan error, 4)
	p := PushHandler(f.state, func(r PushRequest) { accepted <- r })
	p.Rejected = func(err error) { rejected <- err }
	p.Now = func() time.Time { return f.now }
	return p, accepted, rejected
}

func serve(h http.Handler, r *http.Request) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestPushHandlerAcceptsAValidPush(t *testing.T) {
	f := newPushFixture(t)
	h, accepted, _ := f.receiver()
	body := f.body(nil)
	if code := serve(h, f.request("/push?token=a%2Fb", body, f.now.Add(-299*time.Second))); code != http.StatusOK {
		t.Fatalf("valid push answered %d", code)
	}
	select {
	case p := <-accepted:
		if p.ApprovalID != "apr_bbbbbbbbbbbbbbbbbbbbbbbbbb" || p.Details.IP != "203.0.113.7" {
			t.Fatalf("accepted %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a valid push was not handed on")
	}
}

// A push that names the application signed in to ("app", as the server's
// approval.PushRequest writes it) hands the name on; one without reads "".
func TestPushHandlerReadsTheApplication(t *testing.T) {
	for _, app := range []string{"Grafana", ""} {
		f := newPushFixture(t)
		h, accepted, _ := f.receiver()
		body := f.body(func(p *PushRequest) { p.App = app })
		if strings.Contains(string(body), `"app"`) != (app != "") {
			t.Fatalf("push body %s", body)
		}
		if code := serve(h, f.request("/push", body, f.now)); code != http.StatusOK {
			t.Fatalf("push naming %q answered %d", app, code)
		}
		select {
		case p := <-accepted:
			if p.App != app {
				t.Fatalf("accepted app %q; want %q", p.App, app)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a valid push was not handed on")
		}
	}
}

func TestPushHandlerRefusesInvalidPushes(t *testing.T) {
	f := newPushFixture(t)
	_, otherKey, _ := ed25519.GenerateKey(nil)
	good := f.body(nil)
	cases := []struct {
		name string
		req  func() *http.Request
		want error
	}{
		{"unsigned", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/push", bytes.NewReader(good))
		}, ErrPushSignature},
		{"signed by another key", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/push", bytes.NewReader(good))
			signing.Sign(otherKey, http.MethodPost, "/push", "", good, f.now).Apply(r.Header)
			return r
		}, ErrPushSignature},
		{"signed for another path", func() *http.Request {
			r := f.request("/push", good, f.now)
			r.RequestURI, r.URL.Path = "/other", "/other"
			return r
		}, ErrPushSignature},
		{"body changed after signing", func() *http.Request {
			r := f.request("/push", good, f.now)
			r.Body = httptestBody(f.body(func(p *PushRequest) { p.ApprovalID = "apr_cccccccccccccccccccccccccc" }))
			return r
		}, ErrPushSignature},
		{"carries a device id (device → server form)", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/push", bytes.NewReader(good))
			signing.Sign(f.serverKey, http.MethodPost, "/push", f.state.DeviceID, good, f.now).Apply(r.Header)
			return r
		}, ErrPushSignature},
		{"stale timestamp", func() *http.Request { return f.request("/push", good, f.now.Add(-301*time.Second)) }, ErrPushTimestamp},
		{"future timestamp", func() *http.Request { return f.request("/push", good, f.now.Add(301*time.Second)) }, ErrPushTimestamp},
		{"another device", func() *http.Request {
			return f.request("/push", f.body(func(p *PushRequest) { p.DeviceID = "dev_zzzzzzzzzzzzzzzzzzzzzzzzzz" }), f.now)
		}, ErrPushDevice},
		{"callback on another host", func() *http.Request {
			return f.request("/push", f.body(func(p *PushRequest) { p.CallbackURL = "https://evil.example/auth/api/v1/callbacks/approval" }), f.now)
		}, ErrPushCallbackURL},
		{"callback without the prefix", func() *http.Request {
			return f.request("/push", f.body(func(p *PushRequest) { p.CallbackURL = "https://login.example.com/api/v1/callbacks/approval" }), f.now)
		}, ErrPushCallbackURL},
		{"not a push body", func() *http.Request { return f.request("/push", []byte(`[1,2]`), f.now) }, ErrPushBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, accepted, rejected := f.receiver()
			if code := serve(h, c.req()); code != http.StatusUnauthorized {
				t.Fatalf("answered %d, want 401", code)
			}
			if err := <-rejected; !errors.Is(err, c.want) {
				t.Fatalf("rejected with %v, want %v", err, c.want)
			}
			select {
			case p := <-accepted:
				t.Fatalf("an invalid push was handed on: %+v", p)
			case <-time.After(20 * time.Millisecond):
			}
		})
	}
}

func TestPushHandlerRefusesAReplayedNonce(t *testing.T) {
	f := newPushFixture(t)
	h, accepted, rejected := f.receiver()
	first := f.request("/push", f.body(nil), f.now)
	replay := first.Clone(t.Context())
	replay.Body = httptestBody(f.body(nil))
	if code := serve(h, first); code != http.StatusOK {
		t.Fatalf("first push answered %d", code)
	}
	<-accepted
	f.now = f.now.Add(299 * time.Second) // still inside the timestamp window
	if code := serve(h, replay); code != http.StatusUnauthorized {
		t.Fatalf("replayed push answered %d, want 401", code)
	}
	if err := <-rejected; !errors.Is(err, ErrPushReplayed) {
		t.Fatalf("replay rejected with %v", err)
	}
	// A fresh nonce for the same approval is a new push.
	if code := serve(h, f.request("/push", f.body(nil), f.now)); code != http.StatusOK {
		t.Fatalf("push with a fresh nonce answered %d", code)
	}
}

// A push signed at T is accepted from T-300 s to T+300 s in whole seconds,
// so up to 601 s after its earliest use: its nonce must outlive that.
func TestPushNonceIsRememberedAcrossTheWholeWindow(t *testing.T) {
	f := newPushFixture(t)
	h, _, _ := f.receiver()
	earliest := f.now
	if !h.firstUse("n1", earliest) {
		t.Fatal("a new nonce was refused")
	}
	if h.firstUse("n1", earliest.Add(2*signing.MaxSkew+time.Second-time.Millisecond)) {
		t.Fatal("a nonce was forgotten before its push's timestamp left the window")
	}
}

func TestPushHandlerForgetsNoncesAfterTheirWindow(t *testing.T) {
	f := newPushFixture(t)
	h, _, _ := f.receiver()
	start := f.now
	if !h.firstUse("n1", start) || h.firstUse("n1", start.Add(signing.NonceTTL-time.Second)) {
		t.Fatal("a nonce was not remembered for its window")
	}
	if !h.firstUse("n2", start.Add(signing.NonceTTL+time.Minute+time.Second)) {
		t.Fatal("a new nonce was refused")
	}
	if _, kept := h.nonces["n1"]; kept {
		t.Fatal("an expired nonce was never pruned")
	}
}

func TestPushHandlerAllowsOnlyPost(t *testing.T) {
	f := newPushFixture(t)
	h, _, rejected := f.receiver()
	if code := serve(h, httptest.NewRequest(http.MethodGet, "/push", nil)); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET answered %d, want 405", code)
	}
	if err := <-rejected; !errors.Is(err, ErrPushMethod) {
		t.Fatalf("rejected with %v", err)
	}
}

func httptestBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
