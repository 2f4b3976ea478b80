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
	"time"

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

// A device renews its subscription: the new one is stored decoded, the
// change is on the trail, and the same one again records nothing. Removing
// it leaves the device's push_url, records the removal once.
func TestSetAndRemoveWebPush(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		r := registration("")
		r.PushURL = "https://push.example.com/d/1"
		r.WebPush, _, _ = subscription(t)
		reg := f.enrolled(t, f.user, r)
		dev, err := f.db.Device(ctx, reg.DeviceID)
		mustOK(t, err)
		before := len(f.trail(t, f.user.ID))

		// The trail is ordered by time: each change a second later.
		f.clock.Advance(time.Second)
		renewed, p256dh, auth := subscription(t)
		renewed.Endpoint = "https://push.example.net/wpush/v2/renewed"
		got, err := f.svc.SetWebPush(ctx, dev, renewed)
		mustOK(t, err)
		stored, err := f.db.Device(ctx, dev.ID)
		mustOK(t, err)
		for _, d := range []*core.Device{got, stored} {
			if d.WebPush.Endpoint != renewed.Endpoint || !bytes.Equal(d.WebPush.P256dh, p256dh) || !bytes.Equal(d.WebPush.Auth, auth) || d.PushURL != r.PushURL {
				t.Fatalf("after SetWebPush: %+v", d)
			}
		}
		trail := f.trail(t, f.user.ID)
		if len(trail) != before+1 || trail[len(trail)-1].Kind != core.EventWebPushChanged || trail[len(trail)-1].Detail != "phone" {
			t.Fatalf("trail %+v; want one web_push_changed", trail[before:])
		}
		if _, err := f.svc.SetWebPush(ctx, stored, renewed); err != nil || len(f.trail(t, f.user.ID)) != before+1 {
			t.Fatalf("the same subscription again: %v, trail of %d", err, len(f.trail(t, f.user.ID)))
		}

		f.clock.Advance(time.Second)
		mustOK(t, f.svc.RemoveWebPush(ctx, stored))
		stored, err = f.db.Device(ctx, dev.ID)
		mustOK(t, err)
		if stored.WebPush.Endpoint != "" || len(stored.WebPush.P256dh) != 0 || stored.PushURL != r.PushURL {
			t.Fatalf("after RemoveWebPush: %+v", stored)
		}
		mustOK(t, f.svc.RemoveWebPush(ctx, stored))
		trail = f.trail(t, f.user.ID)
		if len(trail) != before+2 || trail[len(trail)-1].Kind != core.EventWebPushRemoved {
			t.Fatalf("trail %+v; want web_push_changed, web_push_removed", trail[before:])
		}
	})
}

// A renewal is checked as a registration is (the same code): an endpoint
// push.Policy refuses, loopback and private addresses included, or bad
// keys, are refused naming the field, and the stored subscription stays.
func TestSetWebPushRefused(t *testing.T) {
	f := newFixture(t, "sqlite", ephemeraltest.InProcess)
	ctx := context.Background()
	r := registration("")
	r.WebPush, _, _ = subscription(t)
	reg := f.enrolled(t, f.user, r)
	dev, err := f.db.Device(ctx, reg.DeviceID)
	mustOK(t, err)
	before := len(f.trail(t, f.user.ID))
	for _, tc := range []struct {
		field, code string
		edit        func(*device.WebPushSubscription)
	}{
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "https://127.0.0.1/x" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "https://localhost/x" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "https://10.1.2.3/x" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "https://[::1]/x" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "https://169.254.169.254/latest" }},
		{"web_push.endpoint", core.EInvalidPushURL, func(w *device.WebPushSubscription) { w.Endpoint = "http://push.example.net/x" }},
		{"web_push.keys.p256dh", core.EInvalidRequest, func(w *device.WebPushSubscription) { w.P256dh = w.P256dh[:20] }},
		{"web_push.keys.auth", core.EInvalidRequest, func(w *device.WebPushSubscription) { w.Auth = "AAAA" }},
	} {
		w, _, _ := subscription(t)
		tc.edit(w)
		_, err := f.svc.SetWebPush(ctx, dev, w)
		wantCode(t, err, tc.code)
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Fatalf("%s: %v", tc.field, err)
		}
	}
	_, err = f.svc.SetWebPush(ctx, dev, nil)
	wantCode(t, err, core.EInvalidRequest)
	stored, err := f.db.Device(ctx, dev.ID)
	mustOK(t, err)
	if stored.WebPush.Endpoint != r.WebPush.Endpoint || len(f.trail(t, f.user.ID)) != before {
		t.Fatalf("a refused renewal changed %+v or the trail", stored)
	}
}
