package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/e2e"
)

func TestDevices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		// This test issues more enrollment codes than the hourly limit allows.
		s := startServer(t, b, map[string]string{"LIMIT_ENROLLMENTS_PER_USER_PER_HOUR": "100"})
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")
		newKey := func() string {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			return base64.RawURLEncoding.EncodeToString(pub)
		}
		enrollment := func() string {
			r := s.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(at)...)
			e2e.Expect(t, r, http.StatusCreated)
			if r.Body["expires_in"] != float64(600) || len(r.Str("enrollment_code")) < 22 {
				t.Fatalf("enrollment %s", r.Raw)
			}
			return r.Str("enrollment_code")
		}
		register := func(code, key, pushURL string) *e2e.Response {
			return s.Post(t, "/api/v1/devices", map[string]any{"enrollment_code": code, "name": "Ada's phone", "public_key": key, "push_url": pushURL})
		}

		code := enrollment()
		key := newKey()
		r := register(code, key, "")
		e2e.Expect(t, r, http.StatusCreated)
		if !strings.HasPrefix(r.Str("device_id"), "dev_") || len(r.Str("totp_secret")) != 32 || r.Str("server_public_key") == "" {
			t.Fatalf("device %s", r.Raw)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatal("TOTP secret answered without Cache-Control: no-store")
		}
		e2e.Expect(t, register(code, newKey(), ""), http.StatusBadRequest, "invalid_code")
		e2e.Expect(t, register("nonsense", newKey(), ""), http.StatusBadRequest, "invalid_code")
		e2e.Expect(t, register(enrollment(), key, ""), http.StatusConflict, "key_taken")

		for _, bad := range []string{"http://example.com/push", "ftp://x/y", "https://user:pw@example.com/p", "/relative", "https://" + strings.Repeat("a", 2050) + ".com/"} {
			e2e.Expect(t, register(enrollment(), newKey(), bad), http.StatusBadRequest, "invalid_push_url")
		}
		e2e.Expect(t, register(enrollment(), "not base64!", ""), http.StatusBadRequest, "invalid_request")
		e2e.Expect(t, register(enrollment(), base64.RawURLEncoding.EncodeToString([]byte("short")), ""), http.StatusBadRequest, "invalid_request")
		e2e.Expect(t, register(enrollment(), newKey(), "http://127.0.0.1:9/push"), http.StatusCreated)

		for i := 2; i < 10; i++ {
			e2e.Expect(t, register(enrollment(), newKey(), ""), http.StatusCreated)
		}
		e2e.Expect(t, register(enrollment(), newKey(), ""), http.StatusConflict, "too_many_devices")

		list := s.Get(t, "/api/v1/devices", e2e.Bearer(at)...)
		e2e.Expect(t, list, http.StatusOK)
		devices, _ := list.Body["devices"].([]any)
		if len(devices) != 10 {
			t.Fatalf("%d devices listed, want 10", len(devices))
		}
		for _, leak := range []string{"public_key", "push_url", "totp", key} {
			if strings.Contains(string(list.Raw), leak) {
				t.Fatalf("device list shows %q: %s", leak, list.Raw)
			}
		}
		first := devices[0].(map[string]any)
		if first["name"] != "Ada's phone" || first["device_id"] == "" || first["created_at"] == "" {
			t.Fatalf("device entry %v", first)
		}
		me := s.Get(t, "/api/v1/me", e2e.Bearer(at)...)
		if me.Body["devices"] != float64(10) {
			t.Fatalf("me.devices %v", me.Body["devices"])
		}

		del := s.Do(t, e2e.Request{Method: "DELETE", Path: "/api/v1/devices/" + first["device_id"].(string), Headers: e2e.Pairs(e2e.Bearer(at))})
		e2e.Expect(t, del, http.StatusNoContent)
		del = s.Do(t, e2e.Request{Method: "DELETE", Path: "/api/v1/devices/" + first["device_id"].(string), Headers: e2e.Pairs(e2e.Bearer(at))})
		e2e.Expect(t, del, http.StatusNotFound, "not_found")
		if msgs := strings.Join(s.SMS.Messages(u.Phone), "\n"); !strings.Contains(msgs, "was added") || !strings.Contains(msgs, "was removed") ||
			!strings.Contains(msgs, "code to add an authenticator device was created") {
			t.Fatalf("device notices missing: %q", msgs)
		}

		// Another user cannot delete this user's device.
		v := s.SignUp(t)
		vat := s.LoginSMS(t, v).Str("access_token")
		second := devices[1].(map[string]any)["device_id"].(string)
		e2e.Expect(t, s.Do(t, e2e.Request{Method: "DELETE", Path: "/api/v1/devices/" + second, Headers: e2e.Pairs(e2e.Bearer(vat))}), http.StatusNotFound, "not_found")
	})
}

// A server with a real PUBLIC_URL refuses push URLs that would make it POST
// to its own loopback (every login would, and /me/events would tell which
// ports answer); PUSH_ALLOW_PRIVATE=true lets them through, for a test
// network. The server itself still listens on 127.0.0.1 here.
func TestLoopbackPushURLsOnlyInDevelopment(t *testing.T) {
	loopbacks := []string{
		"http://127.0.0.1:2375/containers/create",
		"https://127.0.0.1:9000/push",
		"http://[::1]:15000/quitquitquit",
		"http://localhost:8080/actuator/shutdown",
	}
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		for _, c := range []struct {
			name string
			env  map[string]string
			want int
		}{
			{"production", map[string]string{"PUBLIC_URL": "https://login.example.com"}, http.StatusBadRequest},
			{"allow private", map[string]string{"PUBLIC_URL": "https://login.example.com", "PUSH_ALLOW_PRIVATE": "true"}, http.StatusCreated},
		} {
			t.Run(c.name, func(t *testing.T) {
				env := map[string]string{"LIMIT_ENROLLMENTS_PER_USER_PER_HOUR": "100"}
				for k, v := range c.env {
					env[k] = v
				}
				s := startServer(t, b, env)
				u := s.SignUp(t)
				at := s.LoginSMS(t, u).Str("access_token")
				for _, pushURL := range loopbacks {
					enr := s.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(at)...)
					e2e.Expect(t, enr, http.StatusCreated)
					pub, _, _ := ed25519.GenerateKey(rand.Reader)
					r := s.Post(t, "/api/v1/devices", map[string]any{"enrollment_code": enr.Str("enrollment_code"), "name": "phone",
						"public_key": base64.RawURLEncoding.EncodeToString(pub), "push_url": pushURL})
					if c.want == http.StatusCreated {
						e2e.Expect(t, r, http.StatusCreated)
						continue
					}
					e2e.Expect(t, r, http.StatusBadRequest, "invalid_push_url")
					if f, _ := r.Body["error"].(map[string]any)["field"].(string); f != "push_url" {
						t.Fatalf("%s: field %q, want push_url; body %s", pushURL, f, r.Raw)
					}
				}
			})
		}
	})
}

// An enrollment code is good only on the server that issued it (expiry
// is tested in internal/store with the clock moved).
func TestForeignEnrollmentCode(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	other := startServer(t, e2e.SQLite, nil)
	u := other.SignUp(t)
	at := other.LoginSMS(t, u).Str("access_token")
	r := other.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(at)...)
	e2e.Expect(t, r, http.StatusCreated)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := authenticator.Enroll(ctx, s.URL, r.Str("enrollment_code"), "phone", "")
	if !isAPIError(err, 400, "invalid_code") {
		t.Fatalf("a foreign enrollment code: %v", err)
	}
}
