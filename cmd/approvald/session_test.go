package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
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
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		unverified := testenv.RandomPhone()
		e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Bo", "phone": unverified, "password": "long enough"}), http.StatusCreated)

		var bodies []string
		for _, body := range []map[string]any{
			{"phone": u.Phone, "password": "wrong password"},
			{"phone": testenv.RandomPhone(), "password": "long enough"},
			{"phone": unverified, "password": "long enough"},
			{"email": "nobody-" + core.NewSecret(6) + "@example.com", "password": "long enough"}, // random: the Redis of make test is shared by every test
		} {
			r := s.Post(t, "/api/v1/login", body)
			e2e.Expect(t, r, http.StatusUnauthorized, "invalid_credentials")
			bodies = append(bodies, string(r.Raw))
		}
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Fatalf("login failures differ: %q vs %q", bodies[0], b)
			}
		}
		e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "email": u.Email, "password": u.Password}), http.StatusBadRequest, "invalid_request")
		e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"password": u.Password}), http.StatusBadRequest, "invalid_request")
		r := s.Post(t, "/api/v1/login", map[string]any{"email": strings.ToUpper(u.Email), "password": u.Password})
		e2e.Expect(t, r, http.StatusAccepted)
	})
}

func TestTokensAndSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		pair := s.LoginSMS(t, u)
		access := pair.Str("access_token")

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
			jwks := s.Get(t, "/.well-known/jwks.json")
			e2e.Expect(t, jwks, http.StatusOK)
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
			e2e.Expect(t, s.Get(t, "/api/v1/me"), http.StatusUnauthorized, "unauthorized")
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer("not.a.jwt")...), http.StatusUnauthorized, "unauthorized")
			parts := strings.Split(access, ".")
			tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"usr_x"}`)) + "." + parts[2]
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(tampered)...), http.StatusUnauthorized, "unauthorized")
		})

		t.Run("refresh rotates and reuse revokes the session", func(t *testing.T) {
			p := s.LoginSMS(t, u)
			first := p.Str("refresh_token")
			r := s.Post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": first})
			e2e.Expect(t, r, http.StatusOK)
			second := r.Str("refresh_token")
			if second == first || r.Str("access_token") == "" {
				t.Fatalf("refresh did not rotate: %s", r.Raw)
			}
			_, c := jwtParts(t, r.Str("access_token"))
			if amr, _ := c["amr"].([]any); len(amr) != 2 {
				t.Fatalf("refreshed token lost amr: %v", c["amr"])
			}
			e2e.Expect(t, s.Post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": first}), http.StatusUnauthorized)
			e2e.Expect(t, s.Post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": second}), http.StatusUnauthorized)
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(r.Str("access_token"))...), http.StatusUnauthorized, "unauthorized")
		})

		t.Run("logout revokes at once", func(t *testing.T) {
			p := s.LoginSMS(t, u)
			at := p.Str("access_token")
			e2e.Expect(t, s.Post(t, "/api/v1/logout", nil, e2e.Bearer(at)...), http.StatusNoContent)
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(at)...), http.StatusUnauthorized)
			e2e.Expect(t, s.Post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": p.Str("refresh_token")}), http.StatusUnauthorized)
		})

		t.Run("logout others keeps this session", func(t *testing.T) {
			a, b := s.LoginSMS(t, u), s.LoginSMS(t, u)
			e2e.Expect(t, s.Post(t, "/api/v1/logout/others", nil, e2e.Bearer(a.Str("access_token"))...), http.StatusNoContent)
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(a.Str("access_token"))...), http.StatusOK)
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(b.Str("access_token"))...), http.StatusUnauthorized)
		})

		t.Run("password change revokes other sessions", func(t *testing.T) {
			v := s.SignUp(t)
			a, b := s.LoginSMS(t, v), s.LoginSMS(t, v)
			at := a.Str("access_token")
			e2e.Expect(t, s.Post(t, "/api/v1/password", map[string]any{"current_password": "wrong one!", "new_password": "another long one"}, e2e.Bearer(at)...), http.StatusUnauthorized, "invalid_credentials")
			e2e.Expect(t, s.Post(t, "/api/v1/password", map[string]any{"current_password": v.Password, "new_password": "short"}, e2e.Bearer(at)...), http.StatusBadRequest, "weak_password")
			e2e.Expect(t, s.Post(t, "/api/v1/password", map[string]any{"current_password": v.Password, "new_password": "another long one"}, e2e.Bearer(at)...), http.StatusNoContent)
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(at)...), http.StatusOK)
			e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(b.Str("access_token"))...), http.StatusUnauthorized)
			e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": v.Phone, "password": v.Password}), http.StatusUnauthorized, "invalid_credentials")
			v.Password = "another long one"
			s.LoginSMS(t, v)
			msgs := s.SMS.Messages(v.Phone)
			if !strings.Contains(strings.Join(msgs, "\n"), "password was changed") {
				t.Fatalf("no password-change notice in %q", msgs)
			}
		})

		t.Run("two-factor off logs in with the password alone", func(t *testing.T) {
			v := s.SignUp(t)
			at := s.LoginSMS(t, v).Str("access_token")
			r := s.Do(t, e2e.Request{Method: "PATCH", Path: "/api/v1/me", Body: map[string]any{"two_factor": false}, Headers: e2e.Pairs(e2e.Bearer(at))})
			e2e.Expect(t, r, http.StatusOK)
			if r.Body["two_factor"] != false {
				t.Fatalf("profile %s", r.Raw)
			}
			lr := s.Post(t, "/api/v1/login", map[string]any{"phone": v.Phone, "password": v.Password})
			e2e.Expect(t, lr, http.StatusOK)
			_, c := jwtParts(t, lr.Str("access_token"))
			if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
				t.Fatalf("amr %v, want [pwd]", c["amr"])
			}
			// A password-only session may not make risky changes while two-factor is on.
			pwdOnly := lr.Str("access_token")
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "PATCH", Path: "/api/v1/me", Body: map[string]any{"two_factor": true}, Headers: e2e.Pairs(e2e.Bearer(pwdOnly))}), http.StatusOK)
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "PATCH", Path: "/api/v1/me", Body: map[string]any{"two_factor": false}, Headers: e2e.Pairs(e2e.Bearer(pwdOnly))}), http.StatusForbidden, "reauth_required")
			e2e.Expect(t, s.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(pwdOnly)...), http.StatusForbidden, "reauth_required")
		})

		t.Run("wrong types in PATCH", func(t *testing.T) {
			at := s.LoginSMS(t, s.SignUp(t)).Str("access_token")
			r := s.Do(t, e2e.Request{Method: "PATCH", Path: "/api/v1/me", Body: `{"two_factor":"yes"}`, Headers: e2e.Pairs(e2e.Bearer(at))})
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
		})
	})
}

func TestOperations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		e2e.Expect(t, s.Get(t, "/healthz"), http.StatusOK)
		e2e.Expect(t, s.Get(t, "/readyz"), http.StatusOK)
		r := s.Get(t, "/api/v1/openapi.json")
		e2e.Expect(t, r, http.StatusOK)
		if !strings.HasPrefix(r.Str("openapi"), "3.") {
			t.Fatalf("openapi document: %.200s", r.Raw)
		}
		page := s.Get(t, "/")
		if page.Status != http.StatusOK || !strings.Contains(string(page.Raw), "approvald") {
			t.Fatalf("index page: %d %.200s", page.Status, page.Raw)
		}
		if page.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("security headers missing: %v", page.Header)
		}
	})
}

func TestCORS(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"ALLOWED_ORIGINS": "https://app.example.com"})
	pre := func(path, origin string) *e2e.Response {
		return s.Do(t, e2e.Request{Method: "OPTIONS", Path: path, Headers: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-approval-ticket"}})
	}
	r := pre("/api/v1/login", "https://app.example.com")
	e2e.Expect(t, r, http.StatusNoContent)
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
