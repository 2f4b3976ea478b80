package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
)

// userWithDevice is a verified user with one enrolled device.
func (s *testServer) userWithDevice(t *testing.T, withPush bool) (testUser, *testDevice) {
	t.Helper()
	u := s.signupVerified(t)
	at := s.loginSMS(t, u).str("access_token")
	return u, s.enrollDevice(t, at, withPush)
}

func TestPushApproval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u, dev := s.userWithDevice(t, true)

		t.Run("approve with the number", func(t *testing.T) {
			l := s.startLogin(t, u)
			if l.Channel != "push" || l.Number < 10 || l.Number > 99 {
				t.Fatalf("login %+v", l)
			}
			ws := s.mustWS(t, l)
			ws.expectFrame(t, map[string]any{"type": "status", "status": "pending", "channel": "push"})
			p := dev.nextPush(t)
			if p.ApprovalID != l.ID || p.DeviceID != dev.State.DeviceID || p.Message != "Login request" || p.CallbackURL != s.URL+"/api/v1/callbacks/approval" {
				t.Fatalf("push %+v", p)
			}
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...), http.StatusConflict, "not_approved")
			status, err := dev.decide(t, l.ID, true, l.Number, false)
			if err != nil || status != "approved" {
				t.Fatalf("decide: %q %v", status, err)
			}
			ws.expectFrame(t, map[string]any{"type": "status", "status": "approved"})
			ws.expectClose(t, websocket.CloseNormalClosure)

			g := s.get(t, "/api/v1/approvals/"+l.ID, ticketHeader(l.Ticket)...)
			expect(t, g, http.StatusOK)
			if g.str("status") != "approved" || g.Body["match_number"] != float64(l.Number) {
				t.Fatalf("approval %s", g.Raw)
			}
			pair := s.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...)
			expect(t, pair, http.StatusOK)
			_, c := jwtParts(t, pair.str("access_token"))
			if amr, _ := c["amr"].([]any); len(amr) != 2 || amr[1] != "push" {
				t.Fatalf("amr %v", c["amr"])
			}
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...), http.StatusConflict, "already_exchanged")
			if _, err := dev.decide(t, l.ID, false, 0, false); !isAPIError(err, 409, "already_decided") {
				t.Fatalf("second decision: %v", err)
			}
			// A late websocket hears the final state at once.
			late := s.mustWS(t, l)
			late.expectFrame(t, map[string]any{"status": "approved"})
			late.expectClose(t, websocket.CloseNormalClosure)
		})

		t.Run("a wrong number denies", func(t *testing.T) {
			l := s.startLogin(t, u)
			ws := s.mustWS(t, l)
			ws.next(t)
			dev.nextPush(t)
			wrong := l.Number%89 + 10
			if wrong == l.Number {
				wrong++
			}
			status, err := dev.decide(t, l.ID, true, wrong, false)
			if err != nil || status != "denied" {
				t.Fatalf("decide: %q %v", status, err)
			}
			ws.expectFrame(t, map[string]any{"status": "denied", "reason": "number_mismatch"})
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...), http.StatusConflict, "not_approved")
		})

		t.Run("approve without a number is refused", func(t *testing.T) {
			l := s.startLogin(t, u)
			dev.nextPush(t)
			body := `{"approval_id":"` + l.ID + `","device_id":"` + dev.State.DeviceID + `","decision":"approve"}`
			expect(t, s.signed(t, dev, "POST", "/api/v1/callbacks/approval", body, nil), http.StatusBadRequest, "invalid_request")
		})

		t.Run("a new login supersedes the pending one", func(t *testing.T) {
			first := s.startLogin(t, u)
			ws := s.mustWS(t, first)
			ws.next(t)
			dev.nextPush(t)
			second := s.startLogin(t, u)
			dev.nextPush(t)
			ws.expectFrame(t, map[string]any{"status": "denied", "reason": "superseded"})
			ws.expectClose(t, websocket.CloseNormalClosure)
			if _, err := dev.decide(t, second.ID, false, 0, false); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("deny, and report pauses pushes", func(t *testing.T) {
			v, d := s.userWithDevice(t, true)
			l := s.startLogin(t, v)
			ws := s.mustWS(t, l)
			ws.next(t)
			d.nextPush(t)
			if st, err := d.decide(t, l.ID, false, 0, true); err != nil || st != "denied" {
				t.Fatalf("report: %q %v", st, err)
			}
			ws.expectFrame(t, map[string]any{"status": "denied", "reason": "reported"})
			next := s.startLogin(t, v)
			if next.Channel != "sms" {
				t.Fatalf("after a report the login must use a code, got %q", next.Channel)
			}
			g := s.get(t, "/api/v1/approvals/"+next.ID, ticketHeader(next.Ticket)...)
			if g.str("reason") != "push_limited" {
				t.Fatalf("reason %q, want push_limited", g.str("reason"))
			}
		})
	})
}

func isAPIError(err error, status int, code string) bool {
	e, ok := err.(*authenticator.APIError)
	return ok && e.Status == status && e.Err.Code == code
}

func TestTicketAndOrigin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u := s.signupVerified(t)
		l := s.startLogin(t, u)
		bad := []struct{ id, ticket string }{
			{l.ID, "wrong"}, {l.ID, ""}, {"apr_aaaaaaaaaaaaaaaaaaaaaaaaaa", l.Ticket}, {"nonsense", l.Ticket},
		}
		var bodies []string
		for _, c := range bad {
			for _, r := range []*response{
				s.get(t, "/api/v1/approvals/"+c.id, ticketHeader(c.ticket)...),
				s.post(t, "/api/v1/approvals/"+c.id+"/verify", map[string]any{"code": "123456"}, ticketHeader(c.ticket)...),
				s.post(t, "/api/v1/approvals/"+c.id+"/sms", nil, ticketHeader(c.ticket)...),
				s.post(t, "/api/v1/approvals/"+c.id+"/session", nil, ticketHeader(c.ticket)...),
			} {
				expect(t, r, http.StatusUnauthorized, "unauthorized")
				bodies = append(bodies, string(r.Raw))
			}
			if _, res, err := s.dialWS(t, c.id, c.ticket, s.URL); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("websocket with a bad ticket: %v %v", err, res)
			}
		}
		for _, b := range bodies {
			if b != bodies[0] {
				t.Fatalf("bad-ticket answers differ: %s vs %s", bodies[0], b)
			}
		}
		if _, res, err := s.dialWS(t, l.ID, l.Ticket, "https://evil.example.com"); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("websocket from a foreign origin: %v %v", err, res)
		}
		if strings.Contains(s.Logs.String(), l.Ticket) {
			t.Fatal("the ticket appears in the log")
		}
	})
}

func TestSMSAndTOTPFallback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, map[string]string{"PUSH_TIMEOUT": "400ms"})

		t.Run("push endpoint failing falls back to SMS", func(t *testing.T) {
			s := startServer(t, b, nil) // the default PUSH_TIMEOUT outlasts the push retries
			u, dev := s.userWithDevice(t, true)
			dev.failPushes.Store(true)
			before := len(s.SMS.messages(u.Phone))
			l := s.startLogin(t, u)
			ws := s.mustWS(t, l)
			ws.expectFrame(t, map[string]any{"status": "pending"})
			ws.expectFrame(t, map[string]any{"type": "fallback", "channel": "sms", "reason": "push_failed"})
			deadline := time.Now().Add(5 * time.Second)
			for len(s.SMS.messages(u.Phone)) == before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			code := s.SMS.lastCode(t, u.Phone)
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, ticketHeader(l.Ticket)...), http.StatusOK)
			ws.expectFrame(t, map[string]any{"status": "approved"})
			pair := s.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...)
			expect(t, pair, http.StatusOK)
			if _, c := jwtParts(t, pair.str("access_token")); c["amr"].([]any)[1] != "sms" {
				t.Fatalf("amr %v", c["amr"])
			}
		})

		t.Run("push timeout is announced and the browser asks for SMS", func(t *testing.T) {
			u, dev := s.userWithDevice(t, false)
			_ = dev
			l := s.startLogin(t, u)
			ws := s.mustWS(t, l)
			ws.expectFrame(t, map[string]any{"status": "pending", "channel": "push"})
			ws.expectFrame(t, map[string]any{"type": "fallback", "channel": "sms", "reason": "push_timeout"})
			g := s.get(t, "/api/v1/approvals/"+l.ID, ticketHeader(l.Ticket)...)
			if g.str("channel") != "sms" || g.str("reason") != "push_timeout" {
				t.Fatalf("approval after push_timeout %s", g.Raw)
			}
			before := len(s.SMS.messages(u.Phone))
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/sms", nil, ticketHeader(l.Ticket)...), http.StatusAccepted)
			if len(s.SMS.messages(u.Phone)) != before+1 {
				t.Fatal("asking for SMS after push_timeout sent no code")
			}
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/sms", nil, ticketHeader(l.Ticket)...), http.StatusTooManyRequests, "rate_limited")
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": s.SMS.lastCode(t, u.Phone)}, ticketHeader(l.Ticket)...), http.StatusOK)
		})

		t.Run("TOTP code approves once per step", func(t *testing.T) {
			u, dev := s.userWithDevice(t, false)
			l := s.startLogin(t, u)
			code, err := dev.Client.Code(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, ticketHeader(l.Ticket)...), http.StatusOK)
			pair := s.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...)
			if _, c := jwtParts(t, pair.str("access_token")); c["amr"].([]any)[1] != "otp" {
				t.Fatalf("amr %v", c["amr"])
			}
			again := s.startLogin(t, u)
			r := s.post(t, "/api/v1/approvals/"+again.ID+"/verify", map[string]any{"code": code}, ticketHeader(again.Ticket)...)
			expect(t, r, http.StatusBadRequest, "invalid_code")
		})

		t.Run("five wrong codes deny", func(t *testing.T) {
			u := s.signupVerified(t)
			l := s.startLogin(t, u)
			ws := s.mustWS(t, l)
			ws.expectFrame(t, map[string]any{"status": "pending", "channel": "sms"})
			code := s.SMS.lastCode(t, u.Phone)
			wrong := "000000"
			if code == wrong {
				wrong = "000001"
			}
			for left := 4; left >= 1; left-- {
				r := s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": wrong}, ticketHeader(l.Ticket)...)
				expect(t, r, http.StatusBadRequest, "invalid_code")
				if r.Body["attempts_left"] != float64(left) {
					t.Fatalf("attempts_left %v, want %d", r.Body["attempts_left"], left)
				}
			}
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": wrong}, ticketHeader(l.Ticket)...), http.StatusLocked, "locked")
			ws.expectFrame(t, map[string]any{"status": "denied", "reason": "too_many_attempts"})
			expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, ticketHeader(l.Ticket)...), http.StatusConflict, "already_decided")
		})
	})
}

func TestApprovalExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, map[string]string{"APPROVAL_TTL": "600ms", "PUSH_TIMEOUT": "10s"})
		u, dev := s.userWithDevice(t, false)
		l := s.startLogin(t, u)
		ws := s.mustWS(t, l)
		ws.expectFrame(t, map[string]any{"status": "pending"})
		ws.expectFrame(t, map[string]any{"status": "expired"})
		ws.expectClose(t, websocket.CloseNormalClosure)
		expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...), http.StatusGone, "expired")
		expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": "123456"}, ticketHeader(l.Ticket)...), http.StatusGone, "expired")
		if _, err := dev.decide(t, l.ID, true, l.Number, false); !isAPIError(err, 410, "expired") {
			t.Fatalf("decide after expiry: %v", err)
		}
		g := s.get(t, "/api/v1/approvals/"+l.ID, ticketHeader(l.Ticket)...)
		if g.str("status") != string(core.ApprovalExpired) {
			t.Fatalf("approval %s", g.Raw)
		}
	})
}

func TestPullMode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u, dev := s.userWithDevice(t, false)
		l := s.startLogin(t, u)
		list, err := dev.Client.Pending(t.Context())
		if err != nil || len(list) != 1 || list[0].ApprovalID != l.ID || list[0].DeviceID != dev.State.DeviceID {
			t.Fatalf("pending: %+v %v", list, err)
		}
		if st, err := dev.decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
			t.Fatalf("decide: %q %v", st, err)
		}
		if list, _ := dev.Client.Pending(t.Context()); len(list) != 0 {
			t.Fatalf("decided approval still pending: %+v", list)
		}
	})
}
