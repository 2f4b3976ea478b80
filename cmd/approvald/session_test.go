package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// jwtParts decodes a JWT's header and claims without verifying it.
func jwtParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("JWT part %d is not base64url JSON", i)
		}
	}
	return header, claims
}

func TestLoginFailuresLookAlike(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u := s.signupVerified(t)
		unverified := testenv.RandomPhone()
		expect(t, s.post(t, "/api/v1/signup", map[string]any{"name": "Bo", "phone": unverified, "password": "long enough"}), http.StatusCreated)

		var bodies []string
		for _, body := range []map[string]any{
			{"phone": u.Phone, "password": "wrong password"},
			{"phone": testenv.RandomPhone(), "password": "long enough"},
			{"phone": unverified, "password": "long enough"},
			{"email": "nobody-" + core.NewSecret(6) + "@example.com", "password": "long enough"}, // random: the Redis of make test is shared by every test
		} {
			r := s.post(t, "/api/v1/login", body)
			expect(t, r, http.StatusUnauthorized, "invalid_credentials")
			bodies = append(bodies, string(r.Raw))
		}
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Fatalf("login failures differ: %q vs %q", bodies[0], b)
			}
		}
		expect(t, s.post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "email": u.Email, "password": u.Password}), http.StatusBadRequest, "invalid_request")
		expect(t, s.post(t, "/api/v1/login", map[string]any{"password": u.Password}), http.StatusBadRequest, "invalid_request")
		r := s.post(t, "/api/v1/login", map[string]any{"email": strings.ToUpper(u.Email), "password": u.Password})
		expect(t, r, http.StatusAccepted)
	})
}

func TestTokensAndSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u := s.signupVerified(t)
		pair := s.loginSMS(t, u)
		access := pair.str("access_token")

		t.Run("access token shape and JWKS", func(t *testing.T) {
			h, c := jwtParts(t, access)
			if h["alg"] != "EdDSA" || h["typ"] != "at+jwt" || h["kid"] == "" {
				t.Fatalf("header %v", h)
			}
			if c["iss"] != s.URL || c["aud"] != "approvald" || c["sub"] != u.ID || c["sid"] == nil || c["jti"] == nil ||
				c["auth_time"] == nil || c["iat"] == nil || c["exp"] == nil {
				t.Fatalf("claims %v", c)
			}
			if amr, _ := c["amr"].([]any); len(amr) != 2 || amr[0] != "pwd" || amr[1] != "sms" {
				t.Fatalf("amr %v, want [pwd sms]", c["amr"])
			}
			jwks := s.get(t, "/.well-known/jwks.json")
			expect(t, jwks, http.StatusOK)
			keys, _ := jwks.Body["keys"].([]any)
			found := false
			for _, k := range keys {
				k := k.(map[string]any)
				if k["kid"] == h["kid"] && k["kty"] == "OKP" && k["crv"] == "Ed25519" && k["alg"] == "EdDSA" {
					found = true
				}
			}
			if !found {
				t.Fatalf("kid %v not in JWKS %s", h["kid"], jwks.Raw)
			}
		})

		t.Run("bad bearer tokens", func(t *testing.T) {
			expect(t, s.get(t, "/api/v1/me"), http.StatusUnauthorized, "unauthorized")
			expect(t, s.get(t, "/api/v1/me", bearer("not.a.jwt")...), http.StatusUnauthorized, "unauthorized")
			parts := strings.Split(access, ".")
			tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"usr_x"}`)) + "." + parts[2]
			expect(t, s.get(t, "/api/v1/me", bearer(tampered)...), http.StatusUnauthorized, "unauthorized")
		})

		t.Run("refresh rotates and reuse revokes the session", func(t *testing.T) {
			p := s.loginSMS(t, u)
			first := p.str("refresh_token")
			r := s.post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": first})
			expect(t, r, http.StatusOK)
			second := r.str("refresh_token")
			if second == first || r.str("access_token") == "" {
				t.Fatalf("refresh did not rotate: %s", r.Raw)
			}
			_, c := jwtParts(t, r.str("access_token"))
			if amr, _ := c["amr"].([]any); len(amr) != 2 {
				t.Fatalf("refreshed token lost amr: %v", c["amr"])
			}
			expect(t, s.post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": first}), http.StatusUnauthorized)
			expect(t, s.post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": second}), http.StatusUnauthorized)
			expect(t, s.get(t, "/api/v1/me", bearer(r.str("access_token"))...), http.StatusUnauthorized, "unauthorized")
		})

		t.Run("logout revokes at once", func(t *testing.T) {
			p := s.loginSMS(t, u)
			at := p.str("access_token")
			expect(t, s.post(t, "/api/v1/logout", nil, bearer(at)...), http.StatusNoContent)
			expect(t, s.get(t, "/api/v1/me", bearer(at)...), http.StatusUnauthorized)
			expect(t, s.post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": p.str("refresh_token")}), http.StatusUnauthorized)
		})

		t.Run("logout others keeps this session", func(t *testing.T) {
			a, b := s.loginSMS(t, u), s.loginSMS(t, u)
			expect(t, s.post(t, "/api/v1/logout/others", nil, bearer(a.str("access_token"))...), http.StatusNoContent)
			expect(t, s.get(t, "/api/v1/me", bearer(a.str("access_token"))...), http.StatusOK)
			expect(t, s.get(t, "/api/v1/me", bearer(b.str("access_token"))...), http.StatusUnauthorized)
		})

		t.Run("password change revokes other sessions", func(t *testing.T) {
			v := s.signupVerified(t)
			a, b := s.loginSMS(t, v), s.loginSMS(t, v)
			at := a.str("access_token")
			expect(t, s.post(t, "/api/v1/password", map[string]any{"current_password": "wrong one!", "new_password": "another long one"}, bearer(at)...), http.StatusUnauthorized, "invalid_credentials")
			expect(t, s.post(t, "/api/v1/password", map[string]any{"current_password": v.Password, "new_password": "short"}, bearer(at)...), http.StatusBadRequest, "weak_password")
			expect(t, s.post(t, "/api/v1/password", map[string]any{"current_password": v.Password, "new_password": "another long one"}, bearer(at)...), http.StatusNoContent)
			expect(t, s.get(t, "/api/v1/me", bearer(at)...), http.StatusOK)
			expect(t, s.get(t, "/api/v1/me", bearer(b.str("access_token"))...), http.StatusUnauthorized)
			expect(t, s.post(t, "/api/v1/login", map[string]any{"phone": v.Phone, "password": v.Password}), http.StatusUnauthorized, "invalid_credentials")
			v.Password = "another long one"
			s.loginSMS(t, v)
			msgs := s.SMS.messages(v.Phone)
			if !strings.Contains(strings.Join(msgs, "\n"), "password was changed") {
				t.Fatalf("no password-change notice in %q", msgs)
			}
		})

		t.Run("two-factor off logs in with the password alone", func(t *testing.T) {
			v := s.signupVerified(t)
			at := s.loginSMS(t, v).str("access_token")
			r := s.do(t, request{method: "PATCH", path: "/api/v1/me", body: map[string]any{"two_factor": false}, headers: pairs(bearer(at))})
			expect(t, r, http.StatusOK)
			if r.Body["two_factor"] != false {
				t.Fatalf("profile %s", r.Raw)
			}
			lr := s.post(t, "/api/v1/login", map[string]any{"phone": v.Phone, "password": v.Password})
			expect(t, lr, http.StatusOK)
			_, c := jwtParts(t, lr.str("access_token"))
			if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
				t.Fatalf("amr %v, want [pwd]", c["amr"])
			}
			// A password-only session may not make risky changes while two-factor is on.
			pwdOnly := lr.str("access_token")
			expect(t, s.do(t, request{method: "PATCH", path: "/api/v1/me", body: map[string]any{"two_factor": true}, headers: pairs(bearer(pwdOnly))}), http.StatusOK)
			expect(t, s.do(t, request{method: "PATCH", path: "/api/v1/me", body: map[string]any{"two_factor": false}, headers: pairs(bearer(pwdOnly))}), http.StatusForbidden, "reauth_required")
			expect(t, s.post(t, "/api/v1/devices/enrollments", nil, bearer(pwdOnly)...), http.StatusForbidden, "reauth_required")
		})

		t.Run("wrong types in PATCH", func(t *testing.T) {
			at := s.loginSMS(t, s.signupVerified(t)).str("access_token")
			r := s.do(t, request{method: "PATCH", path: "/api/v1/me", body: `{"two_factor":"yes"}`, headers: pairs(bearer(at))})
			expect(t, r, http.StatusBadRequest, "invalid_request")
		})
	})
}

func TestOperations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		expect(t, s.get(t, "/healthz"), http.StatusOK)
		expect(t, s.get(t, "/readyz"), http.StatusOK)
		r := s.get(t, "/api/v1/openapi.json")
		expect(t, r, http.StatusOK)
		if !strings.HasPrefix(r.str("openapi"), "3.") {
			t.Fatalf("openapi document: %.200s", r.Raw)
		}
		page := s.get(t, "/")
		if page.Status != http.StatusOK || !strings.Contains(string(page.Raw), "approvald") {
			t.Fatalf("index page: %d %.200s", page.Status, page.Raw)
		}
		if page.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("security headers missing: %v", page.Header)
		}
	})
}

func TestCORS(t *testing.T) {
	s := startServer(t, sqliteBackend, map[string]string{"ALLOWED_ORIGINS": "https://app.example.com"})
	pre := func(path, origin string) *response {
		return s.do(t, request{method: "OPTIONS", path: path, headers: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-approval-ticket"}})
	}
	r := pre("/api/v1/login", "https://app.example.com")
	expect(t, r, http.StatusNoContent)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "x-approval-ticket") {
		t.Fatalf("preflight headers %v", r.Header)
	}
	if got := pre("/api/v1/login", "https://evil.example.com").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("foreign origin allowed: %q", got)
	}
	if got := pre("/api/v1/callbacks/approval", "https://app.example.com").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("device endpoint sent CORS headers: %q", got)
	}
}
