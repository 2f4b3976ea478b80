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
	"github.com/approvald/approvald/internal/testenv"
)

// The /web/ endpoints of approvald's own pages: the refresh token lives in
// an HttpOnly cookie, the page gets only the access token.

const webCookieName = "approvald_refresh" // plain http on loopback: no __Host-, no Secure

// webPost calls a /web/ endpoint as the pages do: with the guard header and,
// when refresh is not empty, the refresh cookie.
func (s *testServer) webPost(t *testing.T, path string, body any, refresh string, headers ...string) *response {
	t.Helper()
	h := append([]string{"X-Approvald-Web", "1"}, headers...)
	if refresh != "" {
		h = append(h, "Cookie", webCookieName+"="+refresh)
	}
	return s.post(t, path, body, h...)
}

// setCookie returns the refresh cookie r sets ("" when it clears it) and
// checks its attributes.
func setCookie(t *testing.T, r *response) string {
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
func expectAccessOnly(t *testing.T, r *response) string {
	t.Helper()
	if _, leaked := r.Body["refresh_token"]; leaked {
		t.Fatalf("the page got the refresh token: %s", r.Raw)
	}
	if r.str("token_type") != "Bearer" || r.Body["expires_in"] != float64(600) || r.str("access_token") == "" {
		t.Fatalf("answer %s", r.Raw)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("a token was answered without Cache-Control: no-store")
	}
	return r.str("access_token")
}

func TestWebSessionCookie(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u := s.signupVerified(t)
		at := s.loginSMS(t, u).str("access_token")
		expect(t, s.do(t, request{method: http.MethodPatch, path: "/api/v1/me", body: map[string]any{"two_factor": false},
			headers: pairs(bearer(at))}), http.StatusOK)
		creds := map[string]any{"phone": u.Phone, "password": u.Password}
		login := func() (access, refresh string) {
			t.Helper()
			r := s.webPost(t, "/web/login", creds, "")
			expect(t, r, http.StatusOK)
			return expectAccessOnly(t, r), setCookie(t, r)
		}

		expect(t, s.post(t, "/web/login", creds), http.StatusForbidden, "forbidden")
		expect(t, s.webPost(t, "/web/login", map[string]any{"phone": u.Phone, "password": "wrong password"}, ""),
			http.StatusUnauthorized, "invalid_credentials")

		access, c1 := login()
		expect(t, s.get(t, "/api/v1/me", bearer(access)...), http.StatusOK)

		t.Run("refresh rotates the cookie; a spent one revokes the session", func(t *testing.T) {
			expect(t, s.webPost(t, "/web/refresh", nil, ""), http.StatusUnauthorized, "unauthorized")
			r := s.webPost(t, "/web/refresh", nil, c1)
			expect(t, r, http.StatusOK)
			access2, c2 := expectAccessOnly(t, r), setCookie(t, r)
			if c2 == c1 || access2 == access {
				t.Fatal("refresh did not rotate")
			}
			r = s.webPost(t, "/web/refresh", nil, c1)
			expect(t, r, http.StatusUnauthorized, "unauthorized")
			if setCookie(t, r) != "" {
				t.Error("a refused cookie was not cleared")
			}
			expect(t, s.webPost(t, "/web/refresh", nil, c2), http.StatusUnauthorized, "unauthorized")
			expect(t, s.get(t, "/api/v1/me", bearer(access2)...), http.StatusUnauthorized)
		})

		t.Run("logout by the cookie alone", func(t *testing.T) {
			access, refresh := login()
			r := s.webPost(t, "/web/logout", nil, refresh)
			expect(t, r, http.StatusNoContent)
			if setCookie(t, r) != "" {
				t.Error("logout did not clear the cookie")
			}
			expect(t, s.get(t, "/api/v1/me", bearer(access)...), http.StatusUnauthorized)
		})

		t.Run("logout by the access token", func(t *testing.T) {
			access, refresh := login()
			expect(t, s.webPost(t, "/web/logout", nil, "", bearer(access)...), http.StatusNoContent)
			expect(t, s.get(t, "/api/v1/me", bearer(access)...), http.StatusUnauthorized)
			expect(t, s.webPost(t, "/web/refresh", nil, refresh), http.StatusUnauthorized)
		})

		t.Run("logout without a session", func(t *testing.T) {
			expect(t, s.webPost(t, "/web/logout", nil, ""), http.StatusNoContent)
		})
	})
}

func TestWebLoginWithSecondFactor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u := s.signupVerified(t)
		creds := map[string]any{"phone": u.Phone, "password": u.Password}

		r := s.webPost(t, "/web/login", creds, "")
		expect(t, r, http.StatusAccepted)
		if r.str("channel") != "sms" || r.Body["devices"] != nil || r.str("ticket") == "" {
			t.Fatalf("login without a device %s", r.Raw)
		}
		id, ticket := r.str("approval_id"), r.str("ticket")
		exchange := map[string]any{"approval_id": id, "ticket": ticket}
		expect(t, s.webPost(t, "/web/session", exchange, ""), http.StatusConflict, "not_approved")
		expect(t, s.webPost(t, "/web/session", map[string]any{"approval_id": id, "ticket": "wrong"}, ""),
			http.StatusUnauthorized, "unauthorized")
		expect(t, s.post(t, "/api/v1/approvals/"+id+"/verify", map[string]any{"code": s.SMS.lastCode(t, u.Phone)},
			ticketHeader(ticket)...), http.StatusOK)
		r = s.webPost(t, "/web/session", exchange, "")
		expect(t, r, http.StatusOK)
		access, refresh := expectAccessOnly(t, r), setCookie(t, r)
		expect(t, s.get(t, "/api/v1/me", bearer(access)...), http.StatusOK)
		expect(t, s.webPost(t, "/web/session", exchange, ""), http.StatusConflict, "already_exchanged")
		expect(t, s.webPost(t, "/web/refresh", nil, refresh), http.StatusOK)

		pu, _ := s.userWithDevice(t, true)
		r = s.webPost(t, "/web/login", map[string]any{"phone": pu.Phone, "password": pu.Password}, "")
		expect(t, r, http.StatusAccepted)
		names, _ := r.Body["devices"].([]any)
		if r.str("channel") != "push" || len(names) != 1 || names[0] != "Test phone" || r.Body["match_number"] == nil {
			t.Fatalf("push login %s", r.Raw)
		}
	})
}

func TestWebEnrollmentQR(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u := s.signupVerified(t)
		at := s.loginSMS(t, u).str("access_token")

		expect(t, s.webPost(t, "/web/devices/enrollments", nil, ""), http.StatusUnauthorized)
		expect(t, s.post(t, "/web/devices/enrollments", nil, bearer(at)...), http.StatusForbidden, "forbidden")
		r := s.webPost(t, "/web/devices/enrollments", nil, "", bearer(at)...)
		expect(t, r, http.StatusCreated)
		code := r.str("enrollment_code")
		if len(code) < 22 || r.Body["expires_in"] != float64(600) || r.str("server") != s.URL {
			t.Fatalf("enrollment %s", r.Raw)
		}
		uri, err := url.Parse(r.str("enroll_uri"))
		if err != nil || uri.Scheme != "approvald" || uri.Query().Get("code") != code || uri.Query().Get("server") != s.URL {
			t.Fatalf("enroll_uri %q", r.str("enroll_uri"))
		}
		data, ok := strings.CutPrefix(r.str("qr"), "data:image/png;base64,")
		raw, err := base64.StdEncoding.DecodeString(data)
		if !ok || err != nil {
			t.Fatalf("qr is not a PNG data URL: %.60q", r.str("qr"))
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil || img.Bounds().Dx() < 200 {
			t.Fatalf("qr PNG: %v", err)
		}

		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		expect(t, s.post(t, "/api/v1/devices", map[string]any{"enrollment_code": code, "name": "Ada's phone",
			"public_key": base64.RawURLEncoding.EncodeToString(pub)}), http.StatusCreated)
	})
}

// The pages count down the cooldowns GET /web/config serves, which are the
// ones the server enforces: a code asked for again at once is refused for
// as long.
func TestWebConfigServesTheCooldowns(t *testing.T) {
	s := startServer(t, sqliteBackend, nil)
	expect(t, s.get(t, "/web/config"), http.StatusForbidden, "forbidden")
	r := s.get(t, "/web/config", "X-Approvald-Web", "1")
	expect(t, r, http.StatusOK)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
	}
	signupWait, _ := r.Body["signup_resend_cooldown"].(float64)
	approvalWait, _ := r.Body["approval_sms_cooldown"].(float64)
	if signupWait != core.ResendCooldown.Seconds() || approvalWait != approval.DefaultConfig().SMSCooldown.Seconds() {
		t.Fatalf("served %s; want both cooldowns of %v", r.Raw, core.ResendCooldown)
	}

	refusedFor := func(r *response, served float64) {
		t.Helper()
		expect(t, r, http.StatusTooManyRequests, "rate_limited")
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || float64(wait) > served || float64(wait) < served-2 {
			t.Errorf("Retry-After %q; the page counts down %v s", r.Header.Get("Retry-After"), served)
		}
	}
	phone := testenv.RandomPhone()
	su := s.post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"})
	expect(t, su, http.StatusCreated)
	refusedFor(s.post(t, "/api/v1/signup/resend", map[string]any{"verification_id": su.str("verification_id")}), signupWait)

	u := s.signupVerified(t)
	login := s.post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	expect(t, login, http.StatusAccepted)
	if login.str("channel") != "sms" {
		t.Fatalf("channel %q, want sms (a code texted at once)", login.str("channel"))
	}
	refusedFor(s.post(t, "/api/v1/approvals/"+login.str("approval_id")+"/sms", nil, ticketHeader(login.str("ticket"))...), approvalWait)
}
