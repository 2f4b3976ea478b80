package main

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/signing"
)

// signed sends a device-signed request by hand; tweak may change the
// headers after signing, to forge or replay.
func signed(t *testing.T, s *e2e.Server, d *e2e.Device, method, path, body string, tweak func(h http.Header)) *e2e.Response {
	t.Helper()
	h := signing.Sign(d.State.PrivateKey, method, path, d.State.DeviceID, []byte(body), time.Now())
	hdr := http.Header{}
	h.Apply(hdr)
	if tweak != nil {
		tweak(hdr)
	}
	headers := map[string]string{}
	for k := range hdr {
		headers[k] = hdr.Get(k)
	}
	var b any
	if method != http.MethodGet {
		b = []byte(body)
	}
	return s.Do(t, e2e.Request{Method: method, Path: path, Body: b, Headers: headers})
}

func TestCallbackSignatures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u, dev := s.UserWithDevice(t, false)
		other, otherDev := s.UserWithDevice(t, false)
		l := s.StartLogin(t, u)
		body := func(deviceID string) string {
			return `{"approval_id":"` + l.ID + `","device_id":"` + deviceID + `","decision":"deny"}`
		}
		const path = "/api/v1/callbacks/approval"

		refused := []struct {
			name  string
			body  string
			tweak func(h http.Header)
		}{
			{"bad signature", body(dev.State.DeviceID), func(h http.Header) {
				sig := []byte(h.Get(signing.HeaderSignature))
				sig[3] ^= 1
				h.Set(signing.HeaderSignature, string(sig))
			}},
			{"stale timestamp", body(dev.State.DeviceID), func(h http.Header) {
				h.Set(signing.HeaderTimestamp, strconv.FormatInt(time.Now().Add(-301*time.Second).Unix(), 10))
			}},
			{"device id differs from the body", body(otherDev.State.DeviceID), nil},
			{"unknown device", body("dev_aaaaaaaaaaaaaaaaaaaaaaaaaa"), func(h http.Header) { h.Set(signing.HeaderDeviceID, "dev_aaaaaaaaaaaaaaaaaaaaaaaaaa") }},
			{"no signature", body(dev.State.DeviceID), func(h http.Header) { h.Del(signing.HeaderSignature) }},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				e2e.Expect(t, signed(t, s, dev, "POST", path, c.body, c.tweak), http.StatusUnauthorized, "invalid_signature")
			})
		}

		t.Run("a captured callback cannot be replayed", func(t *testing.T) {
			l2 := s.StartLogin(t, other)
			b := `{"approval_id":"` + l2.ID + `","device_id":"` + otherDev.State.DeviceID + `","decision":"approve","match_number":` + strconv.Itoa(l2.Number) + `}`
			h := signing.Sign(otherDev.State.PrivateKey, "POST", path, otherDev.State.DeviceID, []byte(b), time.Now())
			send := func() *e2e.Response {
				hdr := http.Header{}
				h.Apply(hdr)
				return s.Do(t, e2e.Request{Method: "POST", Path: path, Body: []byte(b), Headers: map[string]string{
					signing.HeaderDeviceID: hdr.Get(signing.HeaderDeviceID), signing.HeaderTimestamp: hdr.Get(signing.HeaderTimestamp),
					signing.HeaderNonce: hdr.Get(signing.HeaderNonce), signing.HeaderSignature: hdr.Get(signing.HeaderSignature)}})
			}
			e2e.Expect(t, send(), http.StatusOK)
			e2e.Expect(t, send(), http.StatusUnauthorized, "invalid_signature")
		})

		t.Run("another user's approval is not found", func(t *testing.T) {
			e2e.Expect(t, signed(t, s, otherDev, "POST", path, body(otherDev.State.DeviceID), nil), http.StatusNotFound, "not_found")
		})

		t.Run("pull with a signature of another device", func(t *testing.T) {
			p := "/api/v1/devices/" + dev.State.DeviceID + "/approvals"
			e2e.Expect(t, signed(t, s, otherDev, "GET", p, "", nil), http.StatusUnauthorized, "invalid_signature")
			e2e.Expect(t, signed(t, s, dev, "GET", p, "", nil), http.StatusOK)
		})

		t.Run("the signature covers the body", func(t *testing.T) {
			h := signing.Sign(dev.State.PrivateKey, "POST", path, dev.State.DeviceID, []byte(body(dev.State.DeviceID)), time.Now())
			hdr := http.Header{}
			h.Apply(hdr)
			other := bytes.Replace([]byte(body(dev.State.DeviceID)), []byte("deny"), []byte("DENY"), 1)
			r := s.Do(t, e2e.Request{Method: "POST", Path: path, Body: other, Headers: map[string]string{
				signing.HeaderDeviceID: hdr.Get(signing.HeaderDeviceID), signing.HeaderTimestamp: hdr.Get(signing.HeaderTimestamp),
				signing.HeaderNonce: hdr.Get(signing.HeaderNonce), signing.HeaderSignature: hdr.Get(signing.HeaderSignature)}})
			e2e.Expect(t, r, http.StatusUnauthorized, "invalid_signature")
		})

		t.Run("a refused request does not spend its nonce", func(t *testing.T) {
			l3 := s.StartLogin(t, other)
			b := []byte(`{"approval_id":"` + l3.ID + `","device_id":"` + otherDev.State.DeviceID + `","decision":"approve","match_number":` + strconv.Itoa(l3.Number) + `}`)
			h := signing.Sign(otherDev.State.PrivateKey, "POST", path, otherDev.State.DeviceID, b, time.Now())
			hdr := http.Header{}
			h.Apply(hdr)
			headers := map[string]string{
				signing.HeaderDeviceID: hdr.Get(signing.HeaderDeviceID), signing.HeaderTimestamp: hdr.Get(signing.HeaderTimestamp),
				signing.HeaderNonce: hdr.Get(signing.HeaderNonce), signing.HeaderSignature: hdr.Get(signing.HeaderSignature)}
			forged := bytes.Replace(b, []byte(`"approve"`), []byte(`"deny"`), 1)
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "POST", Path: path, Body: forged, Headers: headers}), http.StatusUnauthorized, "invalid_signature")
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "POST", Path: path, Body: b, Headers: headers}), http.StatusOK)
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "POST", Path: path, Body: b, Headers: headers}), http.StatusUnauthorized, "invalid_signature")
		})

		// After all the refusals the approval is still pending and the
		// real device can decide it.
		if st, err := dev.Decide(t, l.ID, false, 0, false); err != nil || st != "denied" {
			t.Fatalf("decide: %q %v", st, err)
		}
	})
}

// The server remembers a device's key from the moment it pushes to it, so
// that its answer needs no database read before the decision; a device
// removed meanwhile must still decide nothing.
func TestRemovedDeviceDecidesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")
		dev := s.EnrollDevice(t, at, false)
		spare := s.EnrollDevice(t, at, false) // so logins still go to push

		l := s.StartLogin(t, u) // the server remembers both keys here
		e2e.Expect(t, s.Do(t, e2e.Request{Method: "DELETE", Path: "/api/v1/devices/" + dev.State.DeviceID, Headers: e2e.Pairs(e2e.Bearer(at))}), http.StatusNoContent)
		for _, approve := range []bool{true, false} {
			st, err := dev.Decide(t, l.ID, approve, l.Number, false)
			if err == nil || !strings.Contains(err.Error(), "invalid_signature") {
				t.Fatalf("removed device (approve %v): %q %v", approve, st, err)
			}
		}
		r := s.Get(t, "/api/v1/approvals/"+l.ID, e2e.Ticket(l.Ticket)...)
		if r.Str("status") != "pending" {
			t.Fatalf("after the removed device answered: %s", r.Raw)
		}
		if st, err := spare.Decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
			t.Fatalf("remaining device: %q %v", st, err)
		}
	})
}

// callbackBody is a callback's JSON; number < 0 leaves match_number out.
func callbackBody(approvalID string, d *e2e.Device, decision string, number int) string {
	b := `{"approval_id":"` + approvalID + `","device_id":"` + d.State.DeviceID + `","decision":"` + decision + `"`
	if number >= 0 {
		b += `,"match_number":` + strconv.Itoa(number)
	}
	return b + `}`
}

// expectField checks a validation error's field.
func expectField(t *testing.T, r *e2e.Response, field string) {
	t.Helper()
	e, _ := r.Body["error"].(map[string]any)
	if e["field"] != field {
		t.Fatalf("error field %v, want %q; body %s", e["field"], field, r.Raw)
	}
}

// A device decides only a login whose number the browser showed and that
// was offered to it (pushed, the device enrolled by then); the one guarded
// update and the decision from the stored approval agree.
func TestDeviceDecidesOnlyWhatItWasOffered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		const path = "/api/v1/callbacks/approval"
		status := func(t *testing.T, l e2e.Login) string {
			t.Helper()
			g := s.Get(t, "/api/v1/approvals/"+l.ID, e2e.Ticket(l.Ticket)...)
			e2e.Expect(t, g, http.StatusOK)
			return g.Str("status")
		}

		t.Run("match_number outside 10-99 is invalid", func(t *testing.T) {
			u, dev := s.UserWithDevice(t, true)
			l := s.StartLogin(t, u)
			dev.NextPush(t)
			for _, n := range []int{0, 9, 100} {
				for _, decision := range []string{"approve", "deny"} {
					r := signed(t, s, dev, "POST", path, callbackBody(l.ID, dev, decision, n), nil)
					e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
					expectField(t, r, "match_number")
				}
			}
			if st := status(t, l); st != "pending" {
				t.Fatalf("after invalid numbers: %s", st)
			}
			if st, err := dev.Decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
				t.Fatalf("the right number: %q %v", st, err)
			}
		})

		// The attack: after "this was not me" the next login goes to SMS
		// with no number (0 in the database); the device answered it with 0.
		t.Run("a login that began on SMS after a report", func(t *testing.T) {
			u, dev := s.UserWithDevice(t, true)
			reported := s.StartLogin(t, u)
			dev.NextPush(t)
			if st, err := dev.Decide(t, reported.ID, false, 0, true); err != nil || st != "denied" {
				t.Fatalf("report: %q %v", st, err)
			}
			l := s.StartLogin(t, u) // the server remembers the device's key here: the guarded update runs first
			if l.Channel != "sms" || l.Number != 0 {
				t.Fatalf("login after a report: %+v; want sms without a number", l)
			}
			ws := s.MustWS(t, l)
			ws.ExpectFrame(t, map[string]any{"status": "pending", "channel": "sms"})

			r := signed(t, s, dev, "POST", path, callbackBody(l.ID, dev, "approve", 0), nil)
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
			expectField(t, r, "match_number")
			for _, body := range []string{callbackBody(l.ID, dev, "approve", 42), callbackBody(l.ID, dev, "deny", -1)} {
				e2e.Expect(t, signed(t, s, dev, "POST", path, body, nil), http.StatusNotFound, "not_found")
			}
			if list, err := dev.Client.Pending(t.Context()); err != nil || len(list) != 0 {
				t.Fatalf("pull: %+v %v; want nothing", list, err)
			}
			if st := status(t, l); st != "pending" {
				t.Fatalf("after the device's answers: %s", st)
			}
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": s.SMS.LastCode(t, u.Phone)}, e2e.Ticket(l.Ticket)...), http.StatusOK)
			ws.ExpectFrame(t, map[string]any{"status": "approved"})
		})

		t.Run("a device enrolled after the push", func(t *testing.T) {
			u := s.SignUp(t)
			at := s.LoginSMS(t, u).Str("access_token")
			early := s.EnrollDevice(t, at, true)
			l := s.StartLogin(t, u)
			early.NextPush(t)
			ws := s.MustWS(t, l)
			ws.ExpectFrame(t, map[string]any{"status": "pending", "channel": "push"})
			late := s.EnrollDevice(t, at, false) // not remembered: read from the database

			if list, err := late.Client.Pending(t.Context()); err != nil || len(list) != 0 {
				t.Fatalf("the late device pulls %+v %v; want nothing", list, err)
			}
			wrong := l.Number%89 + 10
			if wrong == l.Number {
				wrong++
			}
			for _, body := range []string{
				callbackBody(l.ID, late, "approve", l.Number), // refused by the guarded update, then by the rule in Go
				callbackBody(l.ID, late, "approve", wrong),    // would deny number_mismatch if it were offered
				callbackBody(l.ID, late, "deny", -1),
			} {
				e2e.Expect(t, signed(t, s, late, "POST", path, body, nil), http.StatusNotFound, "not_found")
			}
			if st := status(t, l); st != "pending" {
				t.Fatalf("after the late device's answers: %s", st)
			}
			if list, err := early.Client.Pending(t.Context()); err != nil || len(list) != 1 || list[0].ApprovalID != l.ID {
				t.Fatalf("the early device pulls %+v %v; want the login", list, err)
			}
			if st, err := early.Decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
				t.Fatalf("the early device: %q %v", st, err)
			}
			ws.ExpectFrame(t, map[string]any{"status": "approved"})
		})
	})
}

// A pushed login that fell back to SMS can still be approved by a device
// (until its new expires_at), so the next push supersedes it, whatever its
// channel: the device can approve only the newest login.
func TestNewPushSupersedesALoginThatFellBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		t.Run("requested", func(t *testing.T) {
			s := startServer(t, b, nil)
			u, dev := s.UserWithDevice(t, true)
			first := s.StartLogin(t, u)
			dev.NextPush(t)
			ws := s.MustWS(t, first)
			ws.ExpectFrame(t, map[string]any{"status": "pending", "channel": "push"})
			e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+first.ID+"/sms", nil, e2e.Ticket(first.Ticket)...), http.StatusAccepted)
			ws.ExpectFrame(t, map[string]any{"type": "fallback", "channel": "sms", "reason": "requested"})

			second := s.StartLogin(t, u)
			dev.NextPush(t)
			ws.ExpectFrame(t, map[string]any{"type": "status", "status": "denied", "reason": "superseded"})
			ws.ExpectClose(t, websocket.CloseNormalClosure)
			if _, err := dev.Decide(t, first.ID, true, first.Number, false); !isAPIError(err, 409, "already_decided") {
				t.Fatalf("approving the superseded login: %v", err)
			}
			if st, err := dev.Decide(t, second.ID, true, second.Number, false); err != nil || st != "approved" {
				t.Fatalf("the new login: %q %v", st, err)
			}
		})

		t.Run("push_timeout", func(t *testing.T) {
			s := startServer(t, b, map[string]string{"PUSH_TIMEOUT": "300ms"})
			u, dev := s.UserWithDevice(t, false)
			first := s.StartLogin(t, u)
			ws := s.MustWS(t, first)
			ws.ExpectFrame(t, map[string]any{"status": "pending", "channel": "push"})
			ws.ExpectFrame(t, map[string]any{"type": "fallback", "channel": "sms", "reason": "push_timeout"})

			s.StartLogin(t, u)
			ws.ExpectFrame(t, map[string]any{"type": "status", "status": "denied", "reason": "superseded"})
			if _, err := dev.Decide(t, first.ID, true, first.Number, false); !isAPIError(err, 409, "already_decided") {
				t.Fatalf("approving the superseded login: %v", err)
			}
		})
	})
}
