package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// The client address behind a reverse proxy (TRUSTED_PROXIES): what the
// per-IP limits, the audit trail, the pushes and the logs see.

// appendingProxy is a reverse proxy to target that appends the address it
// was connected from to X-Forwarded-For, as nginx's
// $proxy_add_x_forwarded_for does (and httputil.ReverseProxy with a
// Director). It reaches target from 127.0.0.1.
func appendingProxy(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	t.Cleanup(p.Close)
	return p.URL
}

// randomLoopback is a random 127/8 address other than 127.0.0.1: a client
// address of its own, so the per-IP counts in the shared test Redis start
// from zero.
func randomLoopback() string {
	b := core.RandomBytes(3)
	return fmt.Sprintf("127.%d.%d.%d", 1+b[0]%254, b[1], 1+b[2]%254)
}

// via is a client of s through proxyURL, connecting from the loopback
// address ip.
func via(s *e2e.Server, proxyURL, ip string) *e2e.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &e2e.Client{URL: proxyURL, SMS: s.SMS,
		HTTP: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
}

func signupBody() map[string]any {
	return map[string]any{"name": "Ada", "phone": testenv.RandomPhone(), "password": "long enough"}
}

// A client behind a proxy that appends the peer cannot pick its own limit
// key with a forged X-Forwarded-For, nor write its text into the audit
// trail, the push or the logs.
func TestForwardedForBehindAProxy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "LIMIT_SIGNUPS_PER_IP_PER_HOUR": "5"})
		proxy := appendingProxy(t, s.URL)

		mallory := via(s, proxy, randomLoopback())
		created, limited := 0, 0
		for i := 1; i <= 12; i++ {
			r := mallory.Post(t, "/api/v1/signup", signupBody(), "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
			switch {
			case r.Status == http.StatusCreated:
				created++
			case r.Status == http.StatusTooManyRequests && r.ErrorCode() == "rate_limited" && r.Header.Get("Retry-After") != "":
				limited++
			default:
				t.Fatalf("signup %d: %d %s", i, r.Status, r.Raw)
			}
		}
		if created != 5 || limited != 7 {
			t.Fatalf("12 signups with forged X-Forwarded-For from one address: %d created, %d limited; want 5 and 7", created, limited)
		}
		// Another address behind the same proxy has a count of its own.
		e2e.Expect(t, via(s, proxy, randomLoopback()).Post(t, "/api/v1/signup", signupBody(), "X-Forwarded-For", "198.51.100.1"), http.StatusCreated)

		adaIP := randomLoopback()
		ada := via(s, proxy, adaIP)
		u := ada.SignUp(t)
		at := ada.LoginSMS(t, u).Str("access_token")
		dev := s.EnrollDevice(t, at, false)
		forged := []string{"X-Forwarded-For", "Ada's home, 203.0.113.7", "User-Agent", "forged-test/1"}
		e2e.Expect(t, ada.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": "wrong password"}, forged...), http.StatusUnauthorized)
		l := ada.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password}, forged...)
		e2e.Expect(t, l, http.StatusAccepted)

		// The push shows the device where the login came from.
		pending, err := dev.Client.Pending(t.Context())
		if err != nil || len(pending) != 1 || pending[0].ApprovalID != l.Str("approval_id") {
			t.Fatalf("pending: %+v %v", pending, err)
		}
		if pending[0].Details.IP != adaIP || pending[0].Details.UserAgent != "forged-test/1" {
			t.Fatalf("push details %+v, want ip %s", pending[0].Details, adaIP)
		}

		// The audit trail, read back from the database. (The device enrolled
		// itself straight from 127.0.0.1: device_added has that address.)
		// (A refused password's event is written after the answer: wait for it.)
		var events []any
		e2e.Eventually(t, "login_failed and login_started stored", func() bool {
			r := ada.Get(t, "/api/v1/me/events", e2e.Bearer(at)...)
			e2e.Expect(t, r, http.StatusOK)
			events, _ = r.Body["events"].([]any)
			kinds := map[string]bool{}
			for _, e := range events {
				kinds[e.(map[string]any)["kind"].(string)] = true
			}
			return kinds["login_failed"] && kinds["login_started"]
		})
		for _, e := range events {
			e := e.(map[string]any)
			if e["kind"] != "device_added" && e["ip"] != adaIP {
				t.Fatalf("event %v: ip %v, want %s", e, e["ip"], adaIP)
			}
		}

		// The access log too has the address, never the header's text.
		logs := s.Logs.String()
		if strings.Contains(logs, "s home") || strings.Contains(logs, "198.51.100.") {
			t.Fatal("the logs carry X-Forwarded-For text a client sent")
		}
		if !strings.Contains(logs, `"ip":"`+adaIP+`"`) {
			t.Fatalf("no log line with the client address %s", adaIP)
		}
	})
}

// An IPv6 client is counted by its /64: one subscriber's addresses share a
// count. (The test client plays the trusted proxy that names the client.)
func TestSignupsPerIPv6Prefix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "LIMIT_SIGNUPS_PER_IP_PER_HOUR": "2"})
		r := core.RandomBytes(4)
		g3, g4 := uint16(r[0])<<8|uint16(r[1]), uint16(r[2])<<8|uint16(r[3])
		prefix := fmt.Sprintf("2001:db8:%x:%x", g3, g4)
		signup := func(xff string) *e2e.Response {
			return s.Post(t, "/api/v1/signup", signupBody(), "X-Forwarded-For", xff)
		}
		e2e.Expect(t, signup(prefix+"::1"), http.StatusCreated)
		e2e.Expect(t, signup("["+prefix+":ffff:ffff:ffff:fffe]:443"), http.StatusCreated)
		e2e.Expect(t, signup(prefix+":1234::9"), http.StatusTooManyRequests, "rate_limited")
		e2e.Expect(t, signup(fmt.Sprintf("2001:db8:%x:%x::1", g3, g4^1)), http.StatusCreated) // a neighbouring /64
	})
}
