package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/e2e"
)

// The websocket limits (MAX_WEBSOCKETS, LIMIT_WEBSOCKETS_PER_APPROVAL,
// LIMIT_WEBSOCKETS_PER_IP): a slot is reserved before the upgrade and
// freed when the websocket ends.

// upgrade dials l's websocket with extra header pairs; it returns the open
// connection (closed at the end of the test) or the refusal's status.
func upgrade(t *testing.T, s *e2e.Server, l e2e.Login, headers ...string) (*websocket.Conn, int) {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", s.URL)
	for k, v := range e2e.Pairs(headers) {
		h.Set(k, v)
	}
	// A generous timeout: the test may open dozens at once on a busy machine.
	d := websocket.Dialer{HandshakeTimeout: 60 * time.Second}
	conn, res, err := d.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/api/v1/approvals/"+l.ID+"/ws?ticket="+l.Ticket, h)
	if err == nil {
		t.Cleanup(func() { conn.Close() })
		return conn, http.StatusSwitchingProtocols
	}
	if res == nil {
		t.Errorf("websocket dial: %v", err)
		return nil, 0
	}
	if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	return nil, res.StatusCode
}

func mustUpgrade(t *testing.T, s *e2e.Server, l e2e.Login, headers ...string) *websocket.Conn {
	t.Helper()
	conn, status := upgrade(t, s, l, headers...)
	if conn == nil {
		t.Fatalf("websocket refused: %d", status)
	}
	return conn
}

func refusedUpgrade(t *testing.T, s *e2e.Server, l e2e.Login, headers ...string) {
	t.Helper()
	if _, status := upgrade(t, s, l, headers...); status != http.StatusTooManyRequests {
		t.Fatalf("websocket: status %d, want 429", status)
	}
}

// closeAndWait closes conn from the client and waits until the server has
// hung up (waitHangUp).
func closeAndWait(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for { // frames, then the server's answer to the close
		if _, _, err := conn.ReadMessage(); err != nil {
			break
		}
	}
	waitHangUp(t, conn.NetConn())
}

// waitHangUp reads c to its end. The server closes a websocket's
// connection only after its handler returned and released the slot, so
// the next upgrade sees the slot free.
func waitHangUp(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c) // nil at EOF
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not hang up within 10 s")
	}
}

// rawUpgrade is the text of l's websocket upgrade request.
func rawUpgrade(s *e2e.Server, l e2e.Login, extra string) string {
	host := strings.TrimPrefix(s.URL, "http://")
	return "GET /api/v1/approvals/" + l.ID + "/ws?ticket=" + l.Ticket + " HTTP/1.1\r\nHost: " + host +
		"\r\nOrigin: " + s.URL + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + extra + "\r\n"
}

const wsVersionAndKey = "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

// hangUpAndWait ends a raw websocket from the client (a TCP half-close) and
// waits until the server has hung up too.
func hangUpAndWait(t *testing.T, c *net.TCPConn) {
	t.Helper()
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	waitHangUp(t, c)
}

// Forty simultaneous upgrades on one approval: exactly the cap get through,
// since each reserves its slot before it is upgraded. All forty requests
// are sent but for their last byte, then completed together, so they reach
// the gate at once; the accepted ones stay open, so the count is exact.
func TestWebsocketUpgradesAtOnceKeepThePerApprovalCap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		const limit, tries = 4, 40
		s := startServer(t, b, map[string]string{"LIMIT_WEBSOCKETS_PER_APPROVAL": "4", "LIMIT_WEBSOCKETS_PER_IP": "1000"})
		l := s.StartLogin(t, s.SignUp(t))
		req := rawUpgrade(s, l, wsVersionAndKey)
		conns := make([]net.Conn, tries)
		for i := range conns {
			c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if _, err := io.WriteString(c, req[:len(req)-1]); err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		for _, c := range conns {
			if _, err := io.WriteString(c, req[len(req)-1:]); err != nil {
				t.Fatal(err)
			}
		}
		statuses := map[int]int{}
		var accepted []net.Conn
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("upgrade answer: %v", err)
			}
			if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			statuses[res.StatusCode]++
			if res.StatusCode == http.StatusSwitchingProtocols {
				accepted = append(accepted, c) // open until the test ends
			}
		}
		if statuses[http.StatusSwitchingProtocols] != limit || statuses[http.StatusTooManyRequests] != tries-limit {
			t.Fatalf("%d upgrades at once: statuses %v, want %d × 101 and %d × 429", tries, statuses, limit, tries-limit)
		}
		// The open websockets hold the slots; a closed one frees its own.
		refusedUpgrade(t, s, l)
		hangUpAndWait(t, accepted[0].(*net.TCPConn))
		mustUpgrade(t, s, l)
		refusedUpgrade(t, s, l)
	})
}

// LIMIT_WEBSOCKETS_PER_IP counts per client address (X-Forwarded-For from
// a trusted proxy) and an IPv6 client per /64.
func TestWebsocketsPerIP(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{
		"TRUSTED_PROXIES": "127.0.0.1", "LIMIT_WEBSOCKETS_PER_IP": "2", "LIMIT_WEBSOCKETS_PER_APPROVAL": "100",
	})
	l := s.StartLogin(t, s.SignUp(t))
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	first := mustUpgrade(t, s, l, from("203.0.113.1")...)
	mustUpgrade(t, s, l, from("203.0.113.1")...)
	refusedUpgrade(t, s, l, from("203.0.113.1")...)
	mustUpgrade(t, s, l, from("203.0.113.2")...)
	mustUpgrade(t, s, l, from("2001:db8:1:2::1")...)
	mustUpgrade(t, s, l, from("[2001:db8:1:2:ffff::2]:443")...)
	refusedUpgrade(t, s, l, from("2001:db8:1:2::3")...)
	mustUpgrade(t, s, l, from("2001:db8:1:3::3")...)
	closeAndWait(t, first)
	mustUpgrade(t, s, l, from("203.0.113.1")...)
	refusedUpgrade(t, s, l, from("203.0.113.1")...)
}

// MAX_WEBSOCKETS bounds the websockets of the instance, whatever the
// approval and the client.
func TestMaxWebsockets(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"MAX_WEBSOCKETS": "3", "TRUSTED_PROXIES": "127.0.0.1"})
	a := s.StartLogin(t, s.SignUp(t))
	b := s.StartLogin(t, s.SignUp(t))
	first := mustUpgrade(t, s, a, "X-Forwarded-For", "203.0.113.1")
	mustUpgrade(t, s, a, "X-Forwarded-For", "203.0.113.2")
	mustUpgrade(t, s, b, "X-Forwarded-For", "203.0.113.3")
	refusedUpgrade(t, s, b, "X-Forwarded-For", "203.0.113.4")
	closeAndWait(t, first)
	mustUpgrade(t, s, b, "X-Forwarded-For", "203.0.113.4")
	refusedUpgrade(t, s, a, "X-Forwarded-For", "203.0.113.5")
}

// An upgrade that fails after the gate gives its slot back at once.
func TestWebsocketSlotOfAFailedUpgrade(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_WEBSOCKETS_PER_APPROVAL": "1"})
	l := s.StartLogin(t, s.SignUp(t))
	raw := func(extra string) int {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err = io.WriteString(conn, rawUpgrade(s, l, extra)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for range 3 {
		// No Sec-WebSocket-Key: the gate admits it, the upgrade fails, and
		// the answer is the client's fault, not the server's.
		if status := raw("Sec-WebSocket-Version: 13\r\n"); status != http.StatusBadRequest {
			t.Fatalf("upgrade without a key: %d, want 400", status)
		}
	}
	mustUpgrade(t, s, l)
	refusedUpgrade(t, s, l)
}
