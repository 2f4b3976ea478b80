package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// The /web/ endpoints of approvald's own pages: the refresh token lives in
// an HttpOnly cookie, the page gets only the access token.

const webCookieName = "approvald_refresh" // plain http on loopback: no __Host-, no Secure

// webPost calls a /web/ endpoint as the pages do: with the guard header and,
// when refresh is not empty, the refresh cookie.
func webPost(t *testing.T, s *e2e.Server, path string, body any, refresh string, headers ...string) *e2e.Response {
	t.Helper()
	h := append([]string{"X-Approvald-Web", "1"}, headers...)
	if refresh != "" {
		h = append(h, "Cookie", webCookieName+"="+refresh)
	}
	return s.Post(t, path, body, h...)
}

// setCookie returns the refresh cookie r sets ("" when it clears it) and
// checks its attributes.
func setCookie(t *testing.T, r *e2e.Response) string {
	t.Helper()
	var raw string
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, webCookieName+"=") {
			raw = v
		}
	}
	if raw == "" {
		t.Fatalf("no %s cookie set; headers %v", webCookieName, r.Header)
	}
	lower := strings.ToLower(raw)
	for _, want := range []string{"; httponly", "; samesite=strict", "; path=/"} {
		if !strings.Contains(lower, want) {
			t.Errorf("cookie %q lacks %q", raw, want)
		}
	}
	if strings.Contains(lower, "; secure") {
		t.Errorf("cookie %q is Secure on plain-http loopback, where the browser could not send it", raw)
	}
	c := (&http.Response{Header: http.Header{"Set-Cookie": {raw}}}).Cookies()[0]
	if c.Value == "" {
		if !strings.Contains(lower, "expires=") {
			t.Errorf("cleared cookie %q has no past expiry", raw)
		}
		return ""
	}
	if c.MaxAge != 30*24*3600 {
		t.Errorf("cookie Max-Age %d, want 30 days", c.MaxAge)
	}
	return c.Value
}

// expectAccessOnly checks a /web/ session answer: an access token and no
// refresh token in the body.
func expectAccessOnly(t *testing.T, r *e2e.Response) string {
	t.Helper()
	if _, leaked := r.Body["refresh_token"]; leaked {
		t.Fatalf("the page got the refresh token: %s", r.Raw)
	}
	if r.Str("token_type") != "Bearer" || r.Body["expires_in"] != float64(600) || r.Str("access_token") == "" {
		t.Fatalf("answer %s", r.Raw)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("a token was answered without Cache-Control: no-store")
	}
	return r.Str("access_token")
}

func TestWebSessionCookie(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")
		e2e.Expect(t, s.Do(t, e2e.Request{Method: http.MethodPatch, Path: "/api/v1/me", Body: map[string]any{"two_factor": false},
			Headers: e2e.Pairs(e2e.Bearer(at))}), http.StatusOK)
		creds := map[string]any{"phone": u.Phone, "password": u.Password}
		login := func() (access, refresh string) {
			t.Helper()
			r := webPost(t, s, "/web/login", creds, "")
			e2e.Expect(t, r, http.StatusOK)
			return expectAccessOnly(t, r), setCookie(t, r)
		}

		e2e.Expect(t, s.Post(t, "/web/login", creds), http.StatusForbidden, "forbidden")
		e2e.Expect(t, webPost(t, s, "/web/login", map[string]any{"phone": u.Phone, "password": "wrong password"}, ""),
			http.StatusUnauthorized, "invalid_credentials")

		access, c1 := login()
		e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(access)...), http.StatusOK)

		t.Run("refresh rotates the cookie; a spent one revokes the session", func(t *testing.T) {
			e2e.Expect(t, webPost(t, s, "/web/refresh", nil, ""), http.StatusUnauthorized, "unauthorized")
			r := webPost(t, s, "/web/refresh", nil, c1)
			e2e.Expect(t, r, http.StatusOK)
			access2, c2 := expectAccessOnly(t, r), setCookie(t, r)
			if c2 == c1 || access2 == access {
				t.Fatal("refresh did not rotate")
			}
			r = webPost(t, s, "/web/refresh", nil, c1)
			e2e.Expect(t, r, http.StatusUnauthorized, "unauthorized")
			if setCookie(t, r) != "" {
				t.Error("a refused cookie was not cleared")
			}
			e2e.Expect(t, webPost(t, s, "/web/refresh", nil, c2), http.StatusUnauthorized, "unauthorized")
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(access2)...), http.StatusUnauthorized)
		})

		t.Run("logout by the cookie alone", func(t *testing.T) {
			access, refresh := login()
			r := webPost(t, s, "/web/logout", nil, refresh)
			e2e.Expect(t, r, http.StatusNoContent)
			if setCookie(t, r) != "" {
				t.Error("logout did not clear the cookie")
			}
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(access)...), http.StatusUnauthorized)
		})

		t.Run("logout by the access token", func(t *testing.T) {
			access, refresh := login()
			e2e.Expect(t, webPost(t, s, "/web/logout", nil, "", e2e.Bearer(access)...), http.StatusNoContent)
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(access)...), http.StatusUnauthorized)
			e2e.Expect(t, webPost(t, s, "/web/refresh", nil, refresh), http.StatusUnauthorized)
		})

		t.Run("logout without a session", func(t *testing.T) {
			e2e.Expect(t, webPost(t, s, "/web/logout", nil, ""), http.StatusNoContent)
		})
	})
}

func TestWebLoginWithSecondFactor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		creds := map[string]any{"phone": u.Phone, "password": u.Password}

		r := webPost(t, s, "/web/login", creds, "")
		e2e.Expect(t, r, http.StatusAccepted)
		if r.Str("channel") != "sms" || r.Body["devices"] != nil || r.Str("ticket") == "" {
			t.Fatalf("login without a device %s", r.Raw)
		}
		id, ticket := r.Str("approval_id"), r.Str("ticket")
		exchange := map[string]any{"approval_id": id, "ticket": ticket}
		e2e.Expect(t, webPost(t, s, "/web/session", exchange, ""), http.StatusConflict, "not_approved")
		e2e.Expect(t, webPost(t, s, "/web/session", map[string]any{"approval_id": id, "ticket": "wrong"}, ""),
			http.StatusUnauthorized, "unauthorized")
		e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+id+"/verify", map[string]any{"code": s.SMS.LastCode(t, u.Phone)},
			e2e.Ticket(ticket)...), http.StatusOK)
		r = webPost(t, s, "/web/session", exchange, "")
		e2e.Expect(t, r, http.StatusOK)
		access, refresh := expectAccessOnly(t, r), setCookie(t, r)
		e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(access)...), http.StatusOK)
		e2e.Expect(t, webPost(t, s, "/web/session", exchange, ""), http.StatusConflict, "already_exchanged")
		e2e.Expect(t, webPost(t, s, "/web/refresh", nil, refresh), http.StatusOK)

		pu, _ := s.UserWithDevice(t, true)
		r = webPost(t, s, "/web/login", map[string]any{"phone": pu.Phone, "password": pu.Password}, "")
		e2e.Expect(t, r, http.StatusAccepted)
		names, _ := r.Body["devices"].([]any)
		if r.Str("channel") != "push" || len(names) != 1 || names[0] != "Test phone" || r.Body["match_number"] == nil {
			t.Fatalf("push login %s", r.Raw)
		}
	})
}

func TestWebEnrollmentQR(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")

		e2e.Expect(t, webPost(t, s, "/web/devices/enrollments", nil, ""), http.StatusUnauthorized)
		e2e.Expect(t, s.Post(t, "/web/devices/enrollments", nil, e2e.Bearer(at)...), http.StatusForbidden, "forbidden")
		r := webPost(t, s, "/web/devices/enrollments", nil, "", e2e.Bearer(at)...)
		e2e.Expect(t, r, http.StatusCreated)
		code := r.Str("enrollment_code")
		if len(code) < 22 || r.Body["expires_in"] != float64(600) || r.Str("server") != s.URL {
			t.Fatalf("enrollment %s", r.Raw)
		}
		uri, err := url.Parse(r.Str("enroll_uri"))
		if err != nil || uri.Scheme != "approvald" || uri.Query().Get("code") != code || uri.Query().Get("server") != s.URL {
			t.Fatalf("enroll_uri %q", r.Str("enroll_uri"))
		}
		data, ok := strings.CutPrefix(r.Str("qr"), "data:image/png;base64,")
		raw, err := base64.StdEncoding.DecodeString(data)
		if !ok || err != nil {
			t.Fatalf("qr is not a PNG data URL: %.60q", r.Str("qr"))
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil || img.Bounds().Dx() < 200 {
			t.Fatalf("qr PNG: %v", err)
		}

		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		e2e.Expect(t, s.Post(t, "/api/v1/devices", map[string]any{"enrollment_code": code, "name": "Ada's phone",
			"public_key": base64.RawURLEncoding.EncodeToString(pub)}), http.StatusCreated)
	})
}

// The pages count down the cooldowns GET /web/config serves, which are the
// ones the server enforces: a code asked for again at once is refused for
// as long.
func TestWebConfigServesTheCooldowns(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	e2e.Expect(t, s.Get(t, "/web/config"), http.StatusForbidden, "forbidden")
	r := s.Get(t, "/web/config", "X-Approvald-Web", "1")
	e2e.Expect(t, r, http.StatusOK)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
	}
	signupWait, _ := r.Body["signup_resend_cooldown"].(float64)
	approvalWait, _ := r.Body["approval_sms_cooldown"].(float64)
	if signupWait != core.ResendCooldown.Seconds() || approvalWait != approval.DefaultConfig().SMSCooldown.Seconds() {
		t.Fatalf("served %s; want both cooldowns of %v", r.Raw, core.ResendCooldown)
	}
	if r.Body["passwordless_sms"] != false {
		t.Fatalf("served %s; want passwordless_sms false (PASSWORDLESS_SMS unset)", r.Raw)
	}

	refusedFor := func(r *e2e.Response, served float64) {
		t.Helper()
		e2e.Expect(t, r, http.StatusTooManyRequests, "rate_limited")
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || float64(wait) > served || float64(wait) < served-2 {
			t.Errorf("Retry-After %q; the page counts down %v s", r.Header.Get("Retry-After"), served)
		}
	}
	phone := testenv.RandomPhone()
	su := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"})
	e2e.Expect(t, su, http.StatusCreated)
	refusedFor(s.Post(t, "/api/v1/signup/resend", map[string]any{"verification_id": su.Str("verification_id")}), signupWait)

	u := s.SignUp(t)
	login := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	e2e.Expect(t, login, http.StatusAccepted)
	if login.Str("channel") != "sms" {
		t.Fatalf("channel %q, want sms (a code texted at once)", login.Str("channel"))
	}
	refusedFor(s.Post(t, "/api/v1/approvals/"+login.Str("approval_id")+"/sms", nil, e2e.Ticket(login.Str("ticket"))...), approvalWait)
}
