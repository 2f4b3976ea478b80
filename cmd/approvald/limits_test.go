package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// Each abuse limit of README "Security", through the real router. Every
// test would fail if its limit were removed.

func TestLoginFailuresPerAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"LIMIT_LOGIN_DELAY_BASE": "200ms", "LIMIT_LOGIN_DELAY_MAX": "200ms"})
		u := s.SignUp(t)
		login := func(pw string) *e2e.Response {
			return s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": pw})
		}
		for i := 0; i < 5; i++ {
			e2e.Expect(t, login("wrong password"), http.StatusUnauthorized, "invalid_credentials")
		}
		// After 5 failures each try must wait (a growing delay).
		r := login(u.Password)
		e2e.Expect(t, r, http.StatusTooManyRequests, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		for i := 5; i < 10; i++ {
			time.Sleep(250 * time.Millisecond)
			e2e.Expect(t, login("wrong password"), http.StatusUnauthorized, "invalid_credentials")
		}
		// 10 failures: a hard stop. The right password gets exactly the
		// answer a wrong one gets, so the lock tells nothing.
		time.Sleep(250 * time.Millisecond)
		right, wrong := login(u.Password), login("wrong password")
		e2e.Expect(t, right, http.StatusTooManyRequests, "rate_limited")
		if string(right.Raw) != string(wrong.Raw) || right.Status != wrong.Status {
			t.Fatalf("locked account: right password %d %s, wrong %d %s", right.Status, right.Raw, wrong.Status, wrong.Raw)
		}
		// Unknown identifiers are counted the same way (no enumeration).
		ghost := testenv.RandomPhone()
		for i := 0; i < 5; i++ {
			e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": ghost, "password": "whatever1"}), http.StatusUnauthorized, "invalid_credentials")
		}
		e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": ghost, "password": "whatever1"}), http.StatusTooManyRequests, "rate_limited")
	})
}

func TestLoginSuccessClearsFailures(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	u := s.SignUp(t)
	for round := 0; round < 2; round++ {
		for i := 0; i < 4; i++ {
			e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": "wrong password"}), http.StatusUnauthorized)
		}
		e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password}), http.StatusAccepted)
	}
}

func TestLoginFailuresPerIP(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_LOGIN_FAILURES_PER_IP": "3"})
	for i := 0; i < 3; i++ {
		e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": testenv.RandomPhone(), "password": "whatever1"}), http.StatusUnauthorized)
	}
	e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": testenv.RandomPhone(), "password": "whatever1"}), http.StatusTooManyRequests, "rate_limited")
}

func TestSignupsPerIP(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_SIGNUPS_PER_IP_PER_HOUR": "2"})
	for i := 0; i < 2; i++ {
		e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": testenv.RandomPhone(), "password": "long enough"}), http.StatusCreated)
	}
	e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": testenv.RandomPhone(), "password": "long enough"}), http.StatusTooManyRequests, "rate_limited")
}

func TestWrongCodesPerUserBlockLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"LIMIT_WRONG_CODES_PER_USER_PER_HOUR": "3"})
		u := s.SignUp(t)
		l := s.StartLogin(t, u)
		wrong := "000000"
		if s.SMS.LastCode(t, u.Phone) == wrong {
			wrong = "000001"
		}
		for i := 0; i < 3; i++ {
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": wrong}, e2e.Ticket(l.Ticket)...), http.StatusBadRequest, "invalid_code")
		}
		e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password}), http.StatusTooManyRequests, "rate_limited")
	})
}

func TestPushesPerUserFallBackToCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"LIMIT_PUSHES_PER_USER": "2"})
		u, _ := s.UserWithDevice(t, false)
		for i := 0; i < 2; i++ {
			if l := s.StartLogin(t, u); l.Channel != "push" {
				t.Fatalf("login %d: channel %q, want push", i, l.Channel)
			}
		}
		l := s.StartLogin(t, u)
		g := s.Get(t, "/api/v1/approvals/"+l.ID, e2e.Ticket(l.Ticket)...)
		if l.Channel != "sms" || g.Str("reason") != "push_limited" {
			t.Fatalf("third login: channel %q reason %q, want sms/push_limited", l.Channel, g.Str("reason"))
		}
	})
}

func TestEnrollmentLimits(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_ENROLLMENTS_PER_USER_PER_HOUR": "2", "LIMIT_ENROLL_FAILURES_PER_IP": "3"})
	u := s.SignUp(t)
	at := s.LoginSMS(t, u).Str("access_token")
	for i := 0; i < 2; i++ {
		e2e.Expect(t, s.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(at)...), http.StatusCreated)
	}
	e2e.Expect(t, s.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(at)...), http.StatusTooManyRequests, "rate_limited")
	reg := map[string]any{"enrollment_code": "guess", "name": "x", "public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	for i := 0; i < 3; i++ {
		e2e.Expect(t, s.Post(t, "/api/v1/devices", reg), http.StatusBadRequest, "invalid_code")
	}
	e2e.Expect(t, s.Post(t, "/api/v1/devices", reg), http.StatusTooManyRequests, "rate_limited")
}

func TestCallbackFailuresPerDevice(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_CALLBACK_FAILURES_PER_DEVICE": "3"})
	u, dev := s.UserWithDevice(t, false)
	l := s.StartLogin(t, u)
	body := `{"approval_id":"` + l.ID + `","device_id":"` + dev.State.DeviceID + `","decision":"deny"}`
	forge := func(h http.Header) { h.Set("X-Signature", "AAAA"+h.Get("X-Signature")[4:]) }
	for i := 0; i < 3; i++ {
		e2e.Expect(t, signed(t, s, dev, "POST", "/api/v1/callbacks/approval", body, forge), http.StatusUnauthorized, "invalid_signature")
	}
	e2e.Expect(t, signed(t, s, dev, "POST", "/api/v1/callbacks/approval", body, forge), http.StatusTooManyRequests, "rate_limited")
}

func TestWebsocketsPerApproval(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_WEBSOCKETS_PER_APPROVAL": "2"})
	u := s.SignUp(t)
	l := s.StartLogin(t, u)
	for i := 0; i < 2; i++ {
		s.MustWS(t, l).Next(t)
	}
	if _, res, err := s.DialWS(t, l.ID, l.Ticket, s.URL); err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third websocket: %v %v", err, res)
	}
}

func TestSecurityEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		e2e.Expect(t, s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": "wrong password"}), http.StatusUnauthorized)
		at := s.LoginSMS(t, u).Str("access_token")
		other := s.LoginSMS(t, u)
		e2e.Expect(t, s.Post(t, "/api/v1/logout", nil, e2e.Bearer(other.Str("access_token"))...), http.StatusNoContent)
		// A refused password's event is written after the answer, off the
		// request's path: wait for it to be stored.
		var r *e2e.Response
		e2e.Eventually(t, "every event stored", func() bool {
			r = s.Do(t, e2e.Request{Method: "GET", Path: "/api/v1/me/events", Headers: map[string]string{"Authorization": "Bearer " + at, "User-Agent": "events-test/1"}})
			e2e.Expect(t, r, http.StatusOK)
			kinds := map[string]bool{}
			for _, e := range r.Body["events"].([]any) {
				kinds[e.(map[string]any)["kind"].(string)] = true
			}
			return kinds["login_failed"] && kinds["login_started"] && kinds["approved"] && kinds["session_revoked"]
		})
		for _, e := range r.Body["events"].([]any) {
			if e := e.(map[string]any); e["time"] == "" || e["ip"] != "127.0.0.1" {
				t.Fatalf("event %v", e)
			}
		}
	})
}
