package device_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/device"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/otp"
)

// A registration enrolls a device for the user who started the
// enrollment: it gets its id, its TOTP secret and the server's key once;
// the device is stored with its trimmed name, key and push_url at the
// injected time, its secret sealed; the user is texted and the addition is
// on the trail.
func TestRegisterAddsTheDevice(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		ctx := context.Background()
		code, ttl, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		if ttl != device.EnrollmentTTL {
			t.Fatalf("the code lives %v; want %v", ttl, device.EnrollmentTTL)
		}
		f.clock.Advance(time.Minute)
		key := core.RandomBytes(ed25519.PublicKeySize)
		reg, err := f.svc.Register(ctx, device.Registration{
			EnrollmentCode: code, Name: "  Ada's phone ", PublicKey: base64.RawURLEncoding.EncodeToString(key),
			PushURL: "https://push.example.com/d/1",
		})
		mustOK(t, err)

		if !core.HasPrefix(reg.DeviceID, core.PrefixDevice) || reg.ServerPublicKey != base64.RawURLEncoding.EncodeToString(f.svc.ServerKey) {
			t.Fatalf("answered %+v", reg)
		}
		secret, err := otp.DecodeSecret(reg.TOTPSecret)
		mustOK(t, err)
		d, err := f.db.Device(ctx, reg.DeviceID)
		mustOK(t, err)
		if d.UserID != f.user.ID || d.Name != "Ada's phone" || !bytes.Equal(d.PublicKey, key) ||
			d.PushURL != "https://push.example.com/d/1" || !d.CreatedAt.Equal(f.clock.Now()) {
			t.Fatalf("stored %+v", d)
		}
		sealed, err := f.box.Open(d.TOTPSecretEnc, []byte(d.ID))
		if err != nil || !bytes.Equal(sealed, secret) {
			t.Fatalf("the stored secret is not the one given to the device (%v)", err)
		}

		ev := f.trail(t, f.user.ID)
		if len(ev) != 1 || ev[0].Kind != core.EventDeviceAdded || ev[0].Detail != "Ada's phone" || !ev[0].CreatedAt.Equal(f.clock.Now()) {
			t.Fatalf("trail %+v; want device_added \"Ada's phone\" at %v", ev, f.clock.Now())
		}
		if got := f.notices.to(f.user.Phone); len(got) != 2 || !strings.HasPrefix(got[0], "a code to add an authenticator device was created") ||
			got[1] != `a new authenticator device "Ada's phone" was added to your account.` {
			t.Fatalf("notices %q; want the code's and the device's", got)
		}
	})
}

// A malformed registration is refused on its field before its code is
// tried: nothing is added, texted or recorded, no wrong code is counted
// against the client, and the code still enrolls a device. Names are
// counted in characters; a padded base64url key is a key.
func TestRegisterRefusesMalformedRequests(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f := newFixture(t, dialect, kind)
		f.svc.Limits.EnrollFailuresPerIP = 1
		ctx := core.WithClient(context.Background(), core.Client{IP: "198.51.100.7"})
		code, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		notices := len(f.notices.to(f.user.Phone))
		key := core.RandomBytes(ed25519.PublicKeySize)
		std := base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) // "+/v7…"
		for _, c := range []struct {
			name        string
			edit        func(r *device.Registration)
			code, field string
		}{
			{"no name", func(r *device.Registration) { r.Name = "" }, core.EInvalidRequest, "name"},
			{"a blank name", func(r *device.Registration) { r.Name = "  " }, core.EInvalidRequest, "name"},
			{"a 65-character name", func(r *device.Registration) { r.Name = strings.Repeat("é", 65) }, core.EInvalidRequest, "name"},
			{"no key", func(r *device.Registration) { r.PublicKey = "" }, core.EInvalidRequest, "public_key"},
			{"a key in standard base64", func(r *device.Registration) { r.PublicKey = std }, core.EInvalidRequest, "public_key"},
			{"a key split over lines", func(r *device.Registration) { r.PublicKey = r.PublicKey[:20] + "\n" + r.PublicKey[20:] }, core.EInvalidRequest, "public_key"},
			{"a 31-byte key", func(r *device.Registration) { r.PublicKey = base64.RawURLEncoding.EncodeToString(key[:31]) }, core.EInvalidRequest, "public_key"},
			{"a 33-byte key", func(r *device.Registration) { r.PublicKey = base64.RawURLEncoding.EncodeToString(append(key, 0)) }, core.EInvalidRequest, "public_key"},
			{"an http push_url", func(r *device.Registration) { r.PushURL = "http://push.example.com/d" }, core.EInvalidPushURL, "push_url"},
			{"a private push_url", func(r *device.Registration) { r.PushURL = "https://10.1.2.3/d" }, core.EInvalidPushURL, "push_url"},
			{"a loopback push_url", func(r *device.Registration) { r.PushURL = "https://localhost/d" }, core.EInvalidPushURL, "push_url"},
		} {
			r := device.Registration{EnrollmentCode: code, Name: "phone", PublicKey: base64.RawURLEncoding.EncodeToString(key)}
			c.edit(&r)
			_, err := f.svc.Register(ctx, r)
			wantCode(t, err, c.code)
			if e := err.(*core.Error); e.Field != c.field {
				t.Fatalf("%s: refused on field %q, want %q", c.name, e.Field, c.field)
			}
		}
		if n := f.tried.n.Load(); n != 0 {
			t.Fatalf("malformed registrations tried %d codes", n)
		}
		if devices, _ := f.svc.List(ctx, f.user.ID); len(devices) != 0 || len(f.trail(t, f.user.ID)) != 0 || len(f.notices.to(f.user.Phone)) != notices {
			t.Fatalf("refused registrations added %d devices, or recorded or texted something", len(devices))
		}

		name := strings.Repeat("é", 64)
		reg, err := f.svc.Register(ctx, device.Registration{EnrollmentCode: code, Name: name, PublicKey: base64.URLEncoding.EncodeToString(key)})
		mustOK(t, err)
		if d, err := f.db.Device(ctx, reg.DeviceID); err != nil || d.Name != name || !bytes.Equal(d.PublicKey, key) {
			t.Fatalf("stored %+v (%v)", d, err)
		}
	})
}

// The push_url is checked by the policy the service is given, and only
// when there is one (a device that pulls has none).
func TestRegisterObeysThePushPolicy(t *testing.T) {
	f := newFixture(t, "sqlite", ephemeraltest.InProcess)
	ctx := context.Background()
	var checked []string
	f.svc.ValidatePushURL = func(u string) error {
		checked = append(checked, u)
		if u != "http://localhost:8080/push" {
			return core.FieldError(core.EInvalidPushURL, "push_url", "not here")
		}
		return nil
	}
	for _, c := range []struct{ pushURL, code string }{
		{"https://push.example.com/d", core.EInvalidPushURL},
		{"http://localhost:8080/push", ""},
		{"", ""},
	} {
		f.clock.Advance(time.Second)
		code, _, err := f.svc.StartEnrollment(ctx, f.user.ID)
		mustOK(t, err)
		r := registration(code)
		r.PushURL = c.pushURL
		_, err = f.svc.Register(ctx, r)
		if c.code == "" {
			mustOK(t, err)
		} else {
			wantCode(t, err, c.code)
		}
	}
	if len(checked) != 2 {
		t.Fatalf("the policy checked %q; want the two push_urls given", checked)
	}
	devices, err := f.svc.List(ctx, f.user.ID)
	mustOK(t, err)
	if len(devices) != 2 || devices[0].PushURL != "http://localhost:8080/push" || devices[1].PushURL != "" {
		t.Fatalf("devices %+v; want the allowed push_url's and the pulling one", devices)
	}
}
