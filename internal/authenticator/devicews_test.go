package authenticator

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/signing"
)

// An approval frame of the device websocket is checked as a push is, over
// the websocket's path (PUBLIC_URL's path included) and the method "WS".
func TestSocketVerifiesApprovalFrames(t *testing.T) {
	f := newPushFixture(t)
	s := &Socket{state: f.state, nonces: &PushReceiver{State: f.state, Now: func() time.Time { return f.now }}}
	path := "/auth/api/v1/devices/" + f.state.DeviceID + "/ws"
	sign := func(method, path string, body []byte, at time.Time) signing.Headers {
		return signing.Sign(f.serverKey, method, path, "", body, at)
	}
	body := f.body(nil)

	h := sign("WS", path, body, f.now)
	p, err := s.verify(string(body), "", h)
	if err != nil || p.ApprovalID != "apr_bbbbbbbbbbbbbbbbbbbbbbbbbb" {
		t.Fatalf("a valid frame: %+v %v", p, err)
	}
	if _, err := s.verify(string(body), "", h); !errors.Is(err, ErrPushReplayed) {
		t.Fatalf("replayed: %v", err)
	}
	cases := []struct {
		name string
		body []byte
		h    signing.Headers
		want error
	}{
		{"signed as a POST", body, sign("POST", path, body, f.now), ErrPushSignature},
		{"without PUBLIC_URL's path", body, sign("WS", "/api/v1/devices/"+f.state.DeviceID+"/ws", body, f.now), ErrPushSignature},
		{"another device's path", body, sign("WS", "/auth/api/v1/devices/dev_cccccccccccccccccccccccccc/ws", body, f.now), ErrPushSignature},
		{"another key", body, signing.Sign(f.state.PrivateKey, "WS", path, "", body, f.now), ErrPushSignature},
		{"too old", body, sign("WS", path, body, f.now.Add(-signing.MaxSkew-time.Second)), ErrPushTimestamp},
		{"another device", f.body(func(p *PushRequest) { p.DeviceID = "dev_cccccccccccccccccccccccccc" }), signing.Headers{}, ErrPushDevice},
		{"another server", f.body(func(p *PushRequest) { p.CallbackURL = "https://evil.example/api/v1/callbacks/approval" }), signing.Headers{}, ErrPushCallbackURL},
	}
	for _, c := range cases {
		h := c.h
		if h.Signature == "" {
			h = sign("WS", path, c.body, f.now)
		}
		if _, err := s.verify(string(c.body), "", h); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// During a push key rotation a device trusts its new pin and the one before
// it; a frame's kid says which signed it, and a kid of neither is refused.
func TestSocketFramesDuringAPushKeyRotation(t *testing.T) {
	f := newPushFixture(t)
	old := f.serverKey
	_, fresh, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.state.PreviousServerKey = old.Public().(ed25519.PublicKey)
	f.state.ServerPublicKey = fresh.Public().(ed25519.PublicKey)
	s := &Socket{state: f.state, nonces: &PushReceiver{State: f.state, Now: func() time.Time { return f.now }}}
	path := "/auth/api/v1/devices/" + f.state.DeviceID + "/ws"
	kidOf := func(k ed25519.PrivateKey) string { return signing.KeyID(k.Public().(ed25519.PublicKey)) }

	for _, c := range []struct {
		name string
		key  ed25519.PrivateKey
		kid  string
		want error
	}{
		{"the old key, named", old, kidOf(old), nil},
		{"the new key, named", fresh, kidOf(fresh), nil},
		{"the new key, no kid", fresh, "", nil},
		{"the old key under the new key's kid", old, kidOf(fresh), ErrPushSignature},
		{"a key of neither", f.state.PrivateKey, kidOf(f.state.PrivateKey), ErrPushSignature},
	} {
		body := f.body(nil)
		h := signing.Sign(c.key, "WS", path, "", body, f.now)
		if _, err := s.verify(string(body), c.kid, h); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
