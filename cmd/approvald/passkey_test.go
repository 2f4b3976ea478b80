package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/passkey/passkeytest"
	"github.com/approvald/approvald/internal/testenv"
)

// startPasskeyServer runs approvald at http://localhost:PORT, a host name
// that can be an RP ID.
func startPasskeyServer(t *testing.T, b e2e.Backend) (*e2e.Server, string) {
	t.Helper()
	port := testenv.FreePort(t)
	origin := fmt.Sprintf("http://localhost:%d", port)
	s := startServer(t, b, map[string]string{"ADDR": fmt.Sprintf("127.0.0.1:%d", port), "PUBLIC_URL": origin})
	return s, origin
}

// registerPasskey registers a's credential as a passkey named name with the
// access token at.
func registerPasskey(t *testing.T, s *e2e.Server, at string, a *passkeytest.Authenticator, name string) *e2e.Response {
	t.Helper()
	r := s.Post(t, "/api/v1/passkeys/registration", nil, e2e.Bearer(at)...)
	e2e.Expect(t, r, http.StatusOK)
	var reg struct {
		RegistrationID string                                      `json:"registration_id"`
		Options        protocol.PublicKeyCredentialCreationOptions `json:"options"`
	}
	r.Decode(t, &reg)
	return s.Post(t, "/api/v1/passkeys", map[string]any{
		"registration_id": reg.RegistrationID, "name": name, "credential": a.Create(t, &reg.Options),
	}, e2e.Bearer(at)...)
}

// passkeyLogin answers login options with a at path (the API's or the
// pages' login) and returns the answer.
func passkeyLogin(t *testing.T, s *e2e.Server, a *passkeytest.Authenticator, path string, headers ...string) *e2e.Response {
	t.Helper()
	r := s.Post(t, "/api/v1/login/passkey/options", nil)
	e2e.Expect(t, r, http.StatusOK)
	var opts struct {
		ChallengeID string                                     `json:"challenge_id"`
		Options     protocol.PublicKeyCredentialRequestOptions `json:"options"`
	}
	r.Decode(t, &opts)
	if len(opts.Options.AllowedCredentials) != 0 || opts.Options.UserVerification != protocol.VerificationRequired {
		t.Fatalf("login options %s", r.Raw)
	}
	return s.Post(t, path, map[string]any{"challenge_id": opts.ChallengeID, "credential": a.Get(t, &opts.Options)}, headers...)
}

// waitSMS waits until a text to phone says want.
func waitSMS(t *testing.T, s *e2e.Server, phone, want string) {
	t.Helper()
	for n := 1; ; n++ {
		if msgs := s.SMS.WaitMessages(t, phone, n); strings.Contains(msgs[n-1], want) {
			return
		}
	}
}

func TestPasskeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s, origin := startPasskeyServer(t, b)
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")
		a := passkeytest.New(t, "localhost", origin)

		// Register: 201, a notice by SMS, a security event.
		r := registerPasskey(t, s, at, a, "Laptop")
		e2e.Expect(t, r, http.StatusCreated)
		id := r.Str("passkey_id")
		if !strings.HasPrefix(id, "pky_") || r.Str("name") != "Laptop" || r.Str("created_at") == "" {
			t.Fatalf("passkey %s", r.Raw)
		}
		waitSMS(t, s, u.Phone, `passkey "Laptop" was added`)
		// The same credential again is refused like any other bad answer.
		e2e.Expect(t, registerPasskey(t, s, at, a, "Again"), http.StatusUnauthorized, "passkey_refused")

		r = s.Get(t, "/api/v1/passkeys", e2e.Bearer(at)...)
		e2e.Expect(t, r, http.StatusOK)
		var list struct {
			Passkeys []struct {
				PasskeyID  string     `json:"passkey_id"`
				Name       string     `json:"name"`
				CreatedAt  time.Time  `json:"created_at"`
				LastUsedAt *time.Time `json:"last_used_at"`
				BackedUp   bool       `json:"backed_up"`
			} `json:"passkeys"`
		}
		r.Decode(t, &list)
		if len(list.Passkeys) != 1 || list.Passkeys[0].PasskeyID != id || list.Passkeys[0].LastUsedAt != nil || list.Passkeys[0].BackedUp {
			t.Fatalf("passkeys %s", r.Raw)
		}

		// A complete login: the token pair, amr hwk user mfa, auth_time now.
		lr := passkeyLogin(t, s, a, "/api/v1/login/passkey")
		e2e.Expect(t, lr, http.StatusOK)
		_, claims := jwtParts(t, lr.Str("access_token"))
		amr, _ := json.Marshal(claims["amr"])
		if string(amr) != `["hwk","user","mfa"]` || claims["sub"] != s.Get(t, "/api/v1/me", e2e.Bearer(at)...).Str("user_id") {
			t.Fatalf("claims %v", claims)
		}
		if authTime, _ := claims["auth_time"].(float64); time.Since(time.Unix(int64(authTime), 0)) > time.Minute {
			t.Fatalf("auth_time %v", claims["auth_time"])
		}
		e2e.Expect(t, s.Post(t, "/api/v1/token/refresh", map[string]string{"refresh_token": lr.Str("refresh_token")}), http.StatusOK)
		pk := lr.Str("access_token")

		// The pages' variant sets the refresh and single sign-on cookies.
		wr := passkeyLogin(t, s, a, "/web/login/passkey", "X-Approvald-Web", "1", "Origin", origin)
		e2e.Expect(t, wr, http.StatusOK)
		if cookies := strings.Join(wr.Header.Values("Set-Cookie"), "\n"); !strings.Contains(cookies, "approvald_refresh=") ||
			!strings.Contains(cookies, "approvald_sso=") || wr.Str("refresh_token") != "" {
			t.Fatalf("web login: cookies %q, body %s", cookies, wr.Raw)
		}
		e2e.Expect(t, passkeyLogin(t, s, a, "/web/login/passkey"), http.StatusForbidden, "forbidden")

		// Refusals are one code: a counter that does not go up (after the
		// last accepted login), a wrong origin.
		e2e.Expect(t, passkeyLogin(t, s, a, "/api/v1/login/passkey"), http.StatusOK)
		a.Step = 0
		e2e.Expect(t, passkeyLogin(t, s, a, "/api/v1/login/passkey"), http.StatusUnauthorized, "passkey_refused")
		a.Step = 1
		a.Origin = "https://evil.example.com"
		e2e.Expect(t, passkeyLogin(t, s, a, "/api/v1/login/passkey"), http.StatusUnauthorized, "passkey_refused")
		a.Origin = origin
		e2e.Expect(t, passkeyLogin(t, s, a, "/api/v1/login/passkey"), http.StatusOK)

		// A passkey login is a fresh login with a second factor: it may remove the passkey.
		e2e.Expect(t, s.Do(t, e2e.Request{Method: http.MethodDelete, Path: "/api/v1/passkeys/" + id, Headers: e2e.Pairs(e2e.Bearer(pk))}), http.StatusNoContent)
		waitSMS(t, s, u.Phone, "passkey was removed")
		e2e.Expect(t, s.Do(t, e2e.Request{Method: http.MethodDelete, Path: "/api/v1/passkeys/" + id, Headers: e2e.Pairs(e2e.Bearer(pk))}), http.StatusNotFound, "not_found")
		e2e.Expect(t, passkeyLogin(t, s, a, "/api/v1/login/passkey"), http.StatusUnauthorized, "passkey_refused")

		var events struct {
			Events []struct {
				Kind string `json:"kind"`
			} `json:"events"`
		}
		s.Get(t, "/api/v1/me/events", e2e.Bearer(pk)...).Decode(t, &events)
		var kinds []string
		for _, e := range events.Events {
			kinds = append(kinds, e.Kind)
		}
		for _, k := range []string{"passkey_added", "passkey_login", "passkey_counter_regressed", "passkey_removed"} {
			if !slices.Contains(kinds, k) {
				t.Errorf("no %s event in %q", k, kinds)
			}
		}

		// A password-only session may not add passkeys while two-factor is on.
		v := s.SignUp(t)
		vat := s.LoginSMS(t, v).Str("access_token")
		e2e.Expect(t, s.Do(t, e2e.Request{Method: "PATCH", Path: "/api/v1/me", Body: map[string]any{"two_factor": false}, Headers: e2e.Pairs(e2e.Bearer(vat))}), http.StatusOK)
		pwd := s.Post(t, "/api/v1/login", map[string]any{"phone": v.Phone, "password": v.Password}).Str("access_token")
		e2e.Expect(t, s.Do(t, e2e.Request{Method: "PATCH", Path: "/api/v1/me", Body: map[string]any{"two_factor": true}, Headers: e2e.Pairs(e2e.Bearer(pwd))}), http.StatusOK)
		e2e.Expect(t, s.Post(t, "/api/v1/passkeys/registration", nil, e2e.Bearer(pwd)...), http.StatusForbidden, "reauth_required")
		e2e.Expect(t, s.Post(t, "/api/v1/passkeys/registration", nil), http.StatusUnauthorized, "unauthorized")
	})
}

// With PUBLIC_URL on an IP address approvald serves everything else, and
// the passkey endpoints say passkeys are off.
func TestPasskeysOffOnAnIPAddress(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	u := s.SignUp(t)
	at := s.LoginSMS(t, u).Str("access_token")
	e2e.Expect(t, s.Post(t, "/api/v1/login/passkey/options", nil), http.StatusNotFound, "passkeys_unavailable")
	e2e.Expect(t, s.Post(t, "/api/v1/passkeys/registration", nil, e2e.Bearer(at)...), http.StatusNotFound, "passkeys_unavailable")
	e2e.Expect(t, s.Get(t, "/api/v1/passkeys", e2e.Bearer(at)...), http.StatusNotFound, "passkeys_unavailable")
	r := s.Get(t, "/web/config", "X-Approvald-Web", "1")
	e2e.Expect(t, r, http.StatusOK)
	if r.Body["passkeys"] != false {
		t.Fatalf("web/config %s", r.Raw)
	}
}
