package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
)

func TestPushApproval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u, dev := s.UserWithDevice(t, true)
		if !strings.HasPrefix(dev.State.DeviceID, "dev_") || dev.State.Server != s.URL || dev.State.PushURL == "" {
			t.Fatalf("enrolled state: device %q, server %q, push_url %q", dev.State.DeviceID, dev.State.Server, dev.State.PushURL)
		}

		t.Run("approve with the number", func(t *testing.T) {
			l := s.StartLogin(t, u)
			if l.Channel != "push" || l.Number < 10 || l.Number > 99 {
				t.Fatalf("login %+v", l)
			}
			ws := s.MustWS(t, l)
			ws.ExpectFrame(t, map[string]any{"type": "status", "status": "pending", "channel": "push"})
			p := dev.NextPush(t)
			if p.ApprovalID != l.ID || p.DeviceID != dev.State.DeviceID || p.Message != "Login request" || p.CallbackURL != s.URL+"/api/v1/callbacks/approval" {
				t.Fatalf("push %+v", p)
			}
			if !p.ExpiresAt.Equal(l.ExpiresAt) || p.Details.IP == "" || p.Details.Time.IsZero() {
				t.Fatalf("push details %+v, expires %v; the login expires %v", p.Details, p.ExpiresAt, l.ExpiresAt)
			}
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...), http.StatusConflict, "not_approved")
			status, err := dev.Decide(t, l.ID, true, l.Number, false)
			if err != nil || status != "approved" {
				t.Fatalf("decide: %q %v", status, err)
			}
			ws.ExpectFrame(t, map[string]any{"type": "status", "status": "approved"})
			ws.ExpectClose(t, websocket.CloseNormalClosure)

			g := s.Get(t, "/api/v1/approvals/"+l.ID, e2e.Ticket(l.Ticket)...)
			e2e.Expect(t, g, http.StatusOK)
			if g.Str("status") != "approved" || g.Body["match_number"] != float64(l.Number) {
				t.Fatalf("approval %s", g.Raw)
			}
			pair := s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...)
			e2e.Expect(t, pair, http.StatusOK)
			_, c := jwtParts(t, pair.Str("access_token"))
			if amr, _ := c["amr"].([]any); len(amr) != 2 || amr[1] != "push" {
				t.Fatalf("amr %v", c["amr"])
			}
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...), http.StatusConflict, "already_exchanged")
			if _, err := dev.Decide(t, l.ID, false, 0, false); !isAPIError(err, 409, "already_decided") {
				t.Fatalf("second decision: %v", err)
			}
			// A late websocket hears the final state at once.
			late := s.MustWS(t, l)
			late.ExpectFrame(t, map[string]any{"status": "approved"})
			late.ExpectClose(t, websocket.CloseNormalClosure)
		})

		t.Run("a wrong number denies", func(t *testing.T) {
			l := s.StartLogin(t, u)
			ws := s.MustWS(t, l)
			ws.Next(t)
			dev.NextPush(t)
			wrong := l.Number%89 + 10
			if wrong == l.Number {
				wrong++
			}
			status, err := dev.Decide(t, l.ID, true, wrong, false)
			if err != nil || status != "denied" {
				t.Fatalf("decide: %q %v", status, err)
			}
			ws.ExpectFrame(t, map[string]any{"status": "denied", "reason": "number_mismatch"})
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...), http.StatusConflict, "not_approved")
			// No second guess.
			if _, err := dev.Decide(t, l.ID, true, l.Number, false); !isAPIError(err, 409, "already_decided") {
				t.Fatalf("approve after a mismatch: %v", err)
			}
		})

		t.Run("approve without a number is refused", func(t *testing.T) {
			l := s.StartLogin(t, u)
			dev.NextPush(t)
			body := `{"approval_id":"` + l.ID + `","device_id":"` + dev.State.DeviceID + `","decision":"approve"}`
			e2e.Expect(t, signed(t, s, dev, "POST", "/api/v1/callbacks/approval", body, nil), http.StatusBadRequest, "invalid_request")
		})

		t.Run("a new login supersedes the pending one", func(t *testing.T) {
			first := s.StartLogin(t, u)
			ws := s.MustWS(t, first)
			ws.Next(t)
			dev.NextPush(t)
			second := s.StartLogin(t, u)
			dev.NextPush(t)
			ws.ExpectFrame(t, map[string]any{"status": "denied", "reason": "superseded"})
			ws.ExpectClose(t, websocket.CloseNormalClosure)
			if _, err := dev.Decide(t, second.ID, false, 0, false); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("deny, and report pauses pushes", func(t *testing.T) {
			v, d := s.UserWithDevice(t, true)
			l := s.StartLogin(t, v)
			ws := s.MustWS(t, l)
			ws.Next(t)
			d.NextPush(t)
			if st, err := d.Decide(t, l.ID, false, 0, true); err != nil || st != "denied" {
				t.Fatalf("report: %q %v", st, err)
			}
			ws.ExpectFrame(t, map[string]any{"status": "denied", "reason": "reported"})
			next := s.StartLogin(t, v)
			if next.Channel != "sms" {
				t.Fatalf("after a report the login must use a code, got %q", next.Channel)
			}
			g := s.Get(t, "/api/v1/approvals/"+next.ID, e2e.Ticket(next.Ticket)...)
			if g.Str("reason") != "push_limited" {
				t.Fatalf("reason %q, want push_limited", g.Str("reason"))
			}
		})
	})
}

func isAPIError(err error, status int, code string) bool {
	e, ok := err.(*authenticator.APIError)
	return ok && e.Status == status && e.Err.Code == code
}

func TestTicketAndOrigin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		l := s.StartLogin(t, u)
		bad := []struct{ id, ticket string }{
			{l.ID, "wrong"}, {l.ID, ""}, {"apr_aaaaaaaaaaaaaaaaaaaaaaaaaa", l.Ticket}, {"nonsense", l.Ticket},
		}
		var bodies []string
		for _, c := range bad {
			for _, r := range []*e2e.Response{
				s.Get(t, "/api/v1/approvals/"+c.id, e2e.Ticket(c.ticket)...),
				s.Post(t, "/api/v1/approvals/"+c.id+"/verify", map[string]any{"code": "123456"}, e2e.Ticket(c.ticket)...),
				s.Post(t, "/api/v1/approvals/"+c.id+"/sms", nil, e2e.Ticket(c.ticket)...),
				s.Post(t, "/api/v1/approvals/"+c.id+"/session", nil, e2e.Ticket(c.ticket)...),
			} {
				e2e.Expect(t, r, http.StatusUnauthorized, "unauthorized")
				bodies = append(bodies, string(r.Raw))
			}
			if _, res, err := s.DialWS(t, c.id, c.ticket, s.URL); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("websocket with a bad ticket: %v %v", err, res)
			}
		}
		for _, b := range bodies {
			if b != bodies[0] {
				t.Fatalf("bad-ticket answers differ: %s vs %s", bodies[0], b)
			}
		}
		if _, res, err := s.DialWS(t, l.ID, l.Ticket, "https://evil.example.com"); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("websocket from a foreign origin: %v %v", err, res)
		}
		if strings.Contains(s.Logs.String(), l.Ticket) {
			t.Fatal("the ticket appears in the log")
		}
	})
}

func TestSMSAndTOTPFallback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"PUSH_TIMEOUT": "400ms"})

		t.Run("push endpoint failing falls back to SMS", func(t *testing.T) {
			s := startServer(t, b, nil) // the default PUSH_TIMEOUT outlasts the push retries
			u, dev := s.UserWithDevice(t, true)
			dev.FailPushes(true)
			l := s.StartLogin(t, u)
			ws := s.MustWS(t, l)
			ws.ExpectFrame(t, map[string]any{"status": "pending"})
			ws.ExpectFrame(t, map[string]any{"type": "fallback", "channel": "sms", "reason": "push_failed"})
			code := s.SMS.NextCode(t, u.Phone) // texted after the fallback was announced
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, e2e.Ticket(l.Ticket)...), http.StatusOK)
			ws.ExpectFrame(t, map[string]any{"status": "approved"})
			pair := s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...)
			e2e.Expect(t, pair, http.StatusOK)
			if _, c := jwtParts(t, pair.Str("access_token")); c["amr"].([]any)[1] != "sms" {
				t.Fatalf("amr %v", c["amr"])
			}
		})

		t.Run("push timeout is announced and the browser asks for SMS", func(t *testing.T) {
			u, dev := s.UserWithDevice(t, false)
			_ = dev
			l := s.StartLogin(t, u)
			ws := s.MustWS(t, l)
			ws.ExpectFrame(t, map[string]any{"status": "pending", "channel": "push"})
			ws.ExpectFrame(t, map[string]any{"type": "fallback", "channel": "sms", "reason": "push_timeout"})
			g := s.Get(t, "/api/v1/approvals/"+l.ID, e2e.Ticket(l.Ticket)...)
			if g.Str("channel") != "sms" || g.Str("reason") != "push_timeout" {
				t.Fatalf("approval after push_timeout %s", g.Raw)
			}
			before := len(s.SMS.Messages(u.Phone))
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/sms", nil, e2e.Ticket(l.Ticket)...), http.StatusAccepted)
			if len(s.SMS.Messages(u.Phone)) != before+1 {
				t.Fatal("asking for SMS after push_timeout sent no code")
			}
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/sms", nil, e2e.Ticket(l.Ticket)...), http.StatusTooManyRequests, "rate_limited")
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": s.SMS.LastCode(t, u.Phone)}, e2e.Ticket(l.Ticket)...), http.StatusOK)
		})

		t.Run("TOTP code approves once per step", func(t *testing.T) {
			u, dev := s.UserWithDevice(t, false)
			l := s.StartLogin(t, u)
			code, err := dev.Client.Code(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, e2e.Ticket(l.Ticket)...), http.StatusOK)
			pair := s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...)
			if _, c := jwtParts(t, pair.Str("access_token")); c["amr"].([]any)[1] != "otp" {
				t.Fatalf("amr %v", c["amr"])
			}
			again := s.StartLogin(t, u)
			r := s.Post(t, "/api/v1/approvals/"+again.ID+"/verify", map[string]any{"code": code}, e2e.Ticket(again.Ticket)...)
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_code")
		})

		t.Run("five wrong codes deny", func(t *testing.T) {
			u := s.SignUp(t)
			l := s.StartLogin(t, u)
			ws := s.MustWS(t, l)
			ws.ExpectFrame(t, map[string]any{"status": "pending", "channel": "sms"})
			code := s.SMS.LastCode(t, u.Phone)
			wrong := "000000"
			if code == wrong {
				wrong = "000001"
			}
			for left := 4; left >= 1; left-- {
				r := s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": wrong}, e2e.Ticket(l.Ticket)...)
				e2e.Expect(t, r, http.StatusBadRequest, "invalid_code")
				if r.Body["attempts_left"] != float64(left) {
					t.Fatalf("attempts_left %v, want %d", r.Body["attempts_left"], left)
				}
			}
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": wrong}, e2e.Ticket(l.Ticket)...), http.StatusLocked, "locked")
			ws.ExpectFrame(t, map[string]any{"status": "denied", "reason": "too_many_attempts"})
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, e2e.Ticket(l.Ticket)...), http.StatusConflict, "already_decided")
		})
	})
}

func TestApprovalExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"APPROVAL_TTL": "600ms", "PUSH_TIMEOUT": "10s"})
		u, dev := s.UserWithDevice(t, false)
		l := s.StartLogin(t, u)
		ws := s.MustWS(t, l)
		ws.ExpectFrame(t, map[string]any{"status": "pending"})
		ws.ExpectFrame(t, map[string]any{"status": "expired"})
		ws.ExpectClose(t, websocket.CloseNormalClosure)
		e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...), http.StatusGone, "expired")
		e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": "123456"}, e2e.Ticket(l.Ticket)...), http.StatusGone, "expired")
		if _, err := dev.Decide(t, l.ID, true, l.Number, false); !isAPIError(err, 410, "expired") {
			t.Fatalf("decide after expiry: %v", err)
		}
		g := s.Get(t, "/api/v1/approvals/"+l.ID, e2e.Ticket(l.Ticket)...)
		if g.Str("status") != string(core.ApprovalExpired) {
			t.Fatalf("approval %s", g.Raw)
		}
	})
}

func TestPullMode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u, dev := s.UserWithDevice(t, false)
		if dev.State.PushURL != "" {
			t.Fatalf("a pulling device has push_url %q", dev.State.PushURL)
		}
		if list, err := dev.Client.Pending(t.Context()); err != nil || len(list) != 0 {
			t.Fatalf("pending before any login: %+v %v", list, err)
		}
		l := s.StartLogin(t, u)
		if l.Channel != "push" {
			t.Fatalf("login channel %q, want push", l.Channel)
		}
		list, err := dev.Client.Pending(t.Context())
		if err != nil || len(list) != 1 || list[0].ApprovalID != l.ID || list[0].DeviceID != dev.State.DeviceID || list[0].CallbackURL != dev.State.CallbackURL() {
			t.Fatalf("pending: %+v %v", list, err)
		}
		if st, err := dev.Decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
			t.Fatalf("decide: %q %v", st, err)
		}
		if list, _ := dev.Client.Pending(t.Context()); len(list) != 0 {
			t.Fatalf("decided approval still pending: %+v", list)
		}

		// A plain deny.
		l = s.StartLogin(t, u)
		if st, err := dev.Decide(t, l.ID, false, 0, false); err != nil || st != "denied" {
			t.Fatalf("deny: %q %v", st, err)
		}
		if g := s.Approval(t, l); g.Str("status") != "denied" || g.Str("reason") != "user_denied" {
			t.Fatalf("approval after a deny %s", g.Raw)
		}
		if list, err := dev.Client.Pending(t.Context()); err != nil || len(list) != 0 {
			t.Fatalf("denied approval still pending: %+v %v", list, err)
		}
	})
}
