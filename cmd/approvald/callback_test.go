package main

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/signing"
)

// signed sends a device-signed request by hand; tweak may change the
// headers after signing, to forge or replay.
func (s *testServer) signed(t *testing.T, d *testDevice, method, path, body string, tweak func(h http.Header)) *response {
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
	return s.do(t, request{method: method, path: path, body: b, headers: headers})
}

func TestCallbackSignatures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u, dev := s.userWithDevice(t, false)
		other, otherDev := s.userWithDevice(t, false)
		l := s.startLogin(t, u)
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
				expect(t, s.signed(t, dev, "POST", path, c.body, c.tweak), http.StatusUnauthorized, "invalid_signature")
			})
		}

		t.Run("a captured callback cannot be replayed", func(t *testing.T) {
			l2 := s.startLogin(t, other)
			b := `{"approval_id":"` + l2.ID + `","device_id":"` + otherDev.State.DeviceID + `","decision":"approve","match_number":` + strconv.Itoa(l2.Number) + `}`
			h := signing.Sign(otherDev.State.PrivateKey, "POST", path, otherDev.State.DeviceID, []byte(b), time.Now())
			send := func() *response {
				hdr := http.Header{}
				h.Apply(hdr)
				return s.do(t, request{method: "POST", path: path, body: []byte(b), headers: map[string]string{
					signing.HeaderDeviceID: hdr.Get(signing.HeaderDeviceID), signing.HeaderTimestamp: hdr.Get(signing.HeaderTimestamp),
					signing.HeaderNonce: hdr.Get(signing.HeaderNonce), signing.HeaderSignature: hdr.Get(signing.HeaderSignature)}})
			}
			expect(t, send(), http.StatusOK)
			expect(t, send(), http.StatusUnauthorized, "invalid_signature")
		})

		t.Run("another user's approval is not found", func(t *testing.T) {
			expect(t, s.signed(t, otherDev, "POST", path, body(otherDev.State.DeviceID), nil), http.StatusNotFound, "not_found")
		})

		t.Run("pull with a signature of another device", func(t *testing.T) {
			p := "/api/v1/devices/" + dev.State.DeviceID + "/approvals"
			expect(t, s.signed(t, otherDev, "GET", p, "", nil), http.StatusUnauthorized, "invalid_signature")
			expect(t, s.signed(t, dev, "GET", p, "", nil), http.StatusOK)
		})

		t.Run("the signature covers the body", func(t *testing.T) {
			h := signing.Sign(dev.State.PrivateKey, "POST", path, dev.State.DeviceID, []byte(body(dev.State.DeviceID)), time.Now())
			hdr := http.Header{}
			h.Apply(hdr)
			other := bytes.Replace([]byte(body(dev.State.DeviceID)), []byte("deny"), []byte("DENY"), 1)
			r := s.do(t, request{method: "POST", path: path, body: other, headers: map[string]string{
				signing.HeaderDeviceID: hdr.Get(signing.HeaderDeviceID), signing.HeaderTimestamp: hdr.Get(signing.HeaderTimestamp),
				signing.HeaderNonce: hdr.Get(signing.HeaderNonce), signing.HeaderSignature: hdr.Get(signing.HeaderSignature)}})
			expect(t, r, http.StatusUnauthorized, "invalid_signature")
		})

		t.Run("a refused request does not spend its nonce", func(t *testing.T) {
			l3 := s.startLogin(t, other)
			b := []byte(`{"approval_id":"` + l3.ID + `","device_id":"` + otherDev.State.DeviceID + `","decision":"approve","match_number":` + strconv.Itoa(l3.Number) + `}`)
			h := signing.Sign(otherDev.State.PrivateKey, "POST", path, otherDev.State.DeviceID, b, time.Now())
			hdr := http.Header{}
			h.Apply(hdr)
			headers := map[string]string{
				signing.HeaderDeviceID: hdr.Get(signing.HeaderDeviceID), signing.HeaderTimestamp: hdr.Get(signing.HeaderTimestamp),
				signing.HeaderNonce: hdr.Get(signing.HeaderNonce), signing.HeaderSignature: hdr.Get(signing.HeaderSignature)}
			forged := bytes.Replace(b, []byte(`"approve"`), []byte(`"deny"`), 1)
			expect(t, s.do(t, request{method: "POST", path: path, body: forged, headers: headers}), http.StatusUnauthorized, "invalid_signature")
			expect(t, s.do(t, request{method: "POST", path: path, body: b, headers: headers}), http.StatusOK)
			expect(t, s.do(t, request{method: "POST", path: path, body: b, headers: headers}), http.StatusUnauthorized, "invalid_signature")
		})

		// After all the refusals the approval is still pending and the
		// real device can decide it.
		if st, err := dev.decide(t, l.ID, false, 0, false); err != nil || st != "denied" {
			t.Fatalf("decide: %q %v", st, err)
		}
	})
}

// The server remembers a device's key from the moment it pushes to it, so
// that its answer needs no database read before the decision; a device
// removed meanwhile must still decide nothing.
func TestRemovedDeviceDecidesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServer(t, b, nil)
		u := s.signupVerified(t)
		at := s.loginSMS(t, u).str("access_token")
		dev := s.enrollDevice(t, at, false)
		spare := s.enrollDevice(t, at, false) // so logins still go to push

		l := s.startLogin(t, u) // the server remembers both keys here
		expect(t, s.do(t, request{method: "DELETE", path: "/api/v1/devices/" + dev.State.DeviceID, headers: pairs(bearer(at))}), http.StatusNoContent)
		for _, approve := range []bool{true, false} {
			st, err := dev.decide(t, l.ID, approve, l.Number, false)
			if err == nil || !strings.Contains(err.Error(), "invalid_signature") {
				t.Fatalf("removed device (approve %v): %q %v", approve, st, err)
			}
		}
		r := s.get(t, "/api/v1/approvals/"+l.ID, ticketHeader(l.Ticket)...)
		if r.str("status") != "pending" {
			t.Fatalf("after the removed device answered: %s", r.Raw)
		}
		if st, err := spare.decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
			t.Fatalf("remaining device: %q %v", st, err)
		}
	})
}
