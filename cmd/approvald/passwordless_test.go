package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/oidcprovider"
	"github.com/approvald/approvald/internal/testenv"
)

// freshSession logs u in with the password and the device's push and
// returns the access token (a fresh auth_time with a second factor).
func freshSession(t *testing.T, s *e2e.Server, u e2e.User, dev *e2e.Device) string {
	t.Helper()
	l := s.StartLogin(t, u)
	dev.NextPush(t)
	dev.MustDecide(t, l.ID, true, l.Number, false)
	return s.Session(t, l).Str("access_token")
}

func setPasswordless(t *testing.T, s *e2e.Server, token, mode string, status int, code ...string) *e2e.Response {
	t.Helper()
	r := s.Do(t, e2e.Request{Method: http.MethodPatch, Path: "/api/v1/me", Body: map[string]any{"passwordless": mode}, Headers: e2e.Pairs(e2e.Bearer(token))})
	e2e.Expect(t, r, status, code...)
	return r
}

// passwordlessLogin posts a login without a password and expects the 202
// of a passwordless login.
func passwordlessLogin(t *testing.T, s *e2e.Server, body map[string]any) (e2e.Login, *e2e.Response) {
	t.Helper()
	r := s.Post(t, "/api/v1/login", body)
	e2e.Expect(t, r, http.StatusAccepted)
	var l e2e.Login
	r.Decode(t, &l)
	if r.Body["passwordless"] != true || l.WebsocketURL != "/api/v1/approvals/"+l.ID+"/ws" || l.ExpiresAt.IsZero() {
		t.Fatalf("passwordless login %s", r.Raw)
	}
	return l, r
}

func amrOfPair(t *testing.T, pair *e2e.Response) []any {
	t.Helper()
	_, c := jwtParts(t, pair.Str("access_token"))
	amr, _ := c["amr"].([]any)
	return amr
}

func TestPasswordlessPush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u, dev := s.UserWithDevice(t, true)
		token := freshSession(t, s, u, dev)
		setPasswordless(t, s, token, "sms", http.StatusBadRequest, "invalid_request") // PASSWORDLESS_SMS is off
		setPasswordless(t, s, token, "sometimes", http.StatusBadRequest, "invalid_request")
		if r := setPasswordless(t, s, token, "push", http.StatusOK); r.Str("passwordless") != "push" {
			t.Fatalf("PATCH /me %s", r.Raw)
		}
		me := s.Get(t, "/api/v1/me", e2e.Bearer(token)...)
		if me.Str("passwordless") != "push" {
			t.Fatalf("GET /me %s", me.Raw)
		}

		l, _ := passwordlessLogin(t, s, map[string]any{"phone": u.Phone})
		if l.Channel != "push" || l.Number < 10 || l.Number > 99 {
			t.Fatalf("login %+v", l)
		}
		p := dev.NextPush(t)
		if p.ApprovalID != l.ID || !p.Passwordless || p.Message != approval.PasswordlessMessage {
			t.Fatalf("push %+v", p)
		}
		// No SMS and no code for a passwordless push.
		e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/sms", nil, e2e.Ticket(l.Ticket)...), http.StatusBadRequest, "invalid_request")
		e2e.Expect(t, s.Verify(t, l, "123456"), http.StatusBadRequest, "invalid_request")
		dev.MustDecide(t, l.ID, true, l.Number, false)
		if amr := amrOfPair(t, s.Session(t, l)); !slices.Equal(amr, []any{"push"}) {
			t.Fatalf("amr %v; want [push], no pwd", amr)
		}

		// A report pauses passwordless pushes: the next login asks nobody,
		// in the same shape.
		l, _ = passwordlessLogin(t, s, map[string]any{"email": u.Email})
		dev.NextPush(t)
		dev.MustDecide(t, l.ID, false, 0, true)
		l, _ = passwordlessLogin(t, s, map[string]any{"phone": u.Phone})
		if l.Channel != "push" || l.Number < 10 {
			t.Fatalf("login after a report %+v", l)
		}
		select {
		case p := <-dev.Pushes:
			t.Fatalf("pushed after a report: %+v", p)
		default:
		}

		// Changing it is a risky change: a password-only session, with
		// two-factor on, is refused.
		v := s.SignUp(t)
		at := s.LoginSMS(t, v).Str("access_token")
		e2e.Expect(t, s.Do(t, e2e.Request{Method: http.MethodPatch, Path: "/api/v1/me", Body: map[string]any{"two_factor": false}, Headers: e2e.Pairs(e2e.Bearer(at))}), http.StatusOK)
		lr := s.Post(t, "/api/v1/login", map[string]any{"phone": v.Phone, "password": v.Password})
		e2e.Expect(t, lr, http.StatusOK)
		pwdOnly := lr.Str("access_token")
		e2e.Expect(t, s.Do(t, e2e.Request{Method: http.MethodPatch, Path: "/api/v1/me", Body: map[string]any{"two_factor": true}, Headers: e2e.Pairs(e2e.Bearer(pwdOnly))}), http.StatusOK)
		setPasswordless(t, s, pwdOnly, "off", http.StatusForbidden, "reauth_required")
		if me := s.Get(t, "/api/v1/me", e2e.Bearer(pwdOnly)...); me.Str("passwordless") != "off" {
			t.Fatalf("GET /me %s", me.Raw)
		}
	})
}

func TestPasswordlessSMS(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"PASSWORDLESS_SMS": "true"})
		u := s.SignUp(t)
		token := s.LoginSMS(t, u).Str("access_token")
		setPasswordless(t, s, token, "push", http.StatusBadRequest, "invalid_request") // no device
		if r := setPasswordless(t, s, token, "sms", http.StatusOK); r.Str("passwordless") != "sms" {
			t.Fatalf("PATCH /me %s", r.Raw)
		}
		l, _ := passwordlessLogin(t, s, map[string]any{"email": u.Email})
		if l.Channel != "sms" || l.Number != 0 {
			t.Fatalf("login %+v", l)
		}
		code := s.SMS.NextCode(t, u.Phone) // texted after the answer
		e2e.Expect(t, s.Verify(t, l, code), http.StatusOK)
		if amr := amrOfPair(t, s.Session(t, l)); !slices.Equal(amr, []any{"sms"}) {
			t.Fatalf("amr %v; want [sms], no pwd", amr)
		}
	})
}

// Unknown, off and on answer the same: a 202 of the same fields, an
// approval that its ticket reads as pending; only the user with
// passwordless on is asked. The limits count for all alike.
func TestPasswordlessRevealsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"LIMIT_PASSWORDLESS_PER_IDENTIFIER": "3"})
		on, dev := s.UserWithDevice(t, true)
		setPasswordless(t, s, freshSession(t, s, on, dev), "push", http.StatusOK)
		off, offDev := s.UserWithDevice(t, true)
		unknown := testenv.RandomPhone()
		var shapes [][]string
		firsts := map[string]e2e.Login{}
		for _, phone := range []string{unknown, off.Phone, on.Phone} {
			l, r := passwordlessLogin(t, s, map[string]any{"phone": phone})
			firsts[phone] = l
			keys := slices.Sorted(maps.Keys(r.Body))
			shapes = append(shapes, keys)
			if l.Channel != "push" || l.Number < 10 {
				t.Fatalf("%s: %s", phone, r.Raw)
			}
			g := s.Approval(t, l)
			if g.Str("status") != "pending" || g.Str("channel") != "push" {
				t.Fatalf("%s: approval %s", phone, g.Raw)
			}
			ws := s.MustWS(t, l)
			ws.ExpectFrame(t, map[string]any{"type": "status", "status": "pending", "channel": "push"})
		}
		if !slices.Equal(shapes[0], shapes[1]) || !slices.Equal(shapes[1], shapes[2]) {
			t.Fatalf("answers differ in shape: %q", shapes)
		}
		dev.NextPush(t)
		select {
		case p := <-offDev.Pushes:
			t.Fatalf("a user with passwordless off was pushed: %+v", p)
		default:
		}
		// A second start supersedes the first, for all alike; the
		// per-identifier limit: 3 starts, then 429, for all alike.
		for _, phone := range []string{unknown, off.Phone, on.Phone} {
			for range 2 {
				passwordlessLogin(t, s, map[string]any{"phone": phone})
			}
			if g := s.Approval(t, firsts[phone]); g.Str("status") != "denied" || g.Str("reason") != "superseded" {
				t.Fatalf("%s: the first approval after a second start: %s", phone, g.Raw)
			}
			e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": phone}), http.StatusTooManyRequests, "rate_limited")
		}
	})
}

// A passwordless push signs in to an OpenID Connect application too; the ID
// token claims neither a password nor two factors.
func TestPasswordlessOIDC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		u, d := env.UserWithDevice(t, true)
		setPasswordless(t, env.Server, freshSession(t, env.Server, u, d), "push", http.StatusOK)

		br, app := env.browser(t), env.rp(webappID)
		r := app.newRequest()
		id := atLoginPage(t, br.get(t, r.URL))
		web := []string{"X-Approvald-Web", "1"}
		p := br.do(t, http.MethodPost, "/web/login", map[string]any{"phone": u.Phone, "auth_request": id}, web...)
		var l e2e.Login
		if p.Status != http.StatusAccepted || json.Unmarshal([]byte(p.Body), &l) != nil || l.Channel != "push" {
			t.Fatalf("web login: %d %s", p.Status, p.Body)
		}
		push := d.NextPush(t)
		if !push.Passwordless || push.App != webappName {
			t.Fatalf("push %+v", push)
		}
		d.MustDecide(t, l.ID, true, l.Number, false)
		if p := br.do(t, http.MethodPost, "/web/session", map[string]any{"approval_id": l.ID, "ticket": l.Ticket}, web...); p.Status != http.StatusOK {
			t.Fatalf("web session: %d %s", p.Status, p.Body)
		}
		_, idt := app.mustExchange(t, codeOf(t, app, br.get(t, "/oidc/login?id="+url.QueryEscape(id)), r), r)
		if c := idClaimsOf(t, idt); !slices.Equal(c.AMR, []string{"swk"}) || c.ACR != oidcprovider.ACRPasswordless {
			t.Fatalf("amr %v acr %q; want [swk] %s", c.AMR, c.ACR, oidcprovider.ACRPasswordless)
		}
	})
}
