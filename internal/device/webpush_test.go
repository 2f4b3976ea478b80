package device_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/ephemeraltest"
)

func subscription(t *testing.T) (*device.WebPushSubscription, []byte, []byte) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := core.RandomBytes(16)
	return &device.WebPushSubscription{
		Endpoint: "https://push.example.net/wpush/v2/abc",
		P256dh:   base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}, k.PublicKey().Bytes(), auth
}

// A device may register a Web Push subscription, with or without a
// push_url: it is stored decoded, and the answer names the VAPID key.
func TestRegisterWebPush(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		for _, pushURL := range []string{"", "https://push.example.com/d/1"} {
			r := registration("")
			r.PushURL = pushURL
			var p256dh, auth []byte
			r.WebPush, p256dh, auth = subscription(t)
			reg := f.enrolled(t, f.user, r)
			if reg.VAPIDPublicKey != "vapid-public-key" {
				t.Fatalf("answered %+v", reg)
			}
			d, err := f.db.Device(context.Background(), reg.DeviceID)
			mustOK(t, err)
			if d.PushURL != pushURL || d.WebPush.Endpoint != r.WebPush.Endpoint || !bytes.Equal(d.WebPush.P256dh, p256dh) || !bytes.Equal(d.WebPush.Auth, auth) {
				t.Fatalf("stored %+v", d)
			}
		}
	})
}

// A subscription is refused as a whole, naming the field, and enrolls
// nothing: an endpoint push.Policy refuses (production's here), keys that
// are not a P-256 point or 16 bytes.
func TestRegisterWebPushRefused(t *testing.T) {
	f := newFixture(t, "sqlite", ephemeraltest.InProcess)
	ctx := context.Background()
	for _, tc := range []struct {
		field, code string
		edit        func(*device.WebPushSubscription)
	}{
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "http://push.example.net/x" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "https://127.0.0.1/x" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "https://169.254.169.254/latest" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "" }},
		{"web_push.keys.p256dh", core.EInvalidRequest, func(w *device.WebPushSubscription) { w.P256dh = w.P256dh[:20] }},
		{"web_push.keys.p256dh", core.EInvalidRequest, func(w *device.WebPushSubscription) {
			w.P256dh = base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...))
		}},
		{"web_push.keys.auth", core.EInvalidRequest, func(w *device.WebPushSubscription) { w.Auth = "AAAA" }},
		{"web_push.keys.auth", core.EInvalidRequest, func(w *device.WebPushSubscription) { w.Auth = "not base64!" }},
	} {
		code, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		r := registration(code)
		r.WebPush, _, _ = subscription(t)
		tc.edit(r.WebPush)
		_, err = f.svc.Register(ctx, r)
		wantCode(t, err, tc.code)
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Field != tc.field || !strings.HasPrefix(ce.Message, tc.field) {
			t.Fatalf("%s: %v", tc.field, err)
		}
	}
	if devices, _ := f.svc.List(ctx, f.user.ID); len(devices) != 0 {
		t.Fatalf("%d devices enrolled", len(devices))
	}
}
