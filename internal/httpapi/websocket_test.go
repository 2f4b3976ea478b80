package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/inmem"
)

// pendingStore knows every approval as pending.
type pendingStore struct{}

func (pendingStore) Approval(_ context.Context, id string) (*core.Approval, error) {
	return &core.Approval{ID: id, Status: core.ApprovalPending, Channel: core.ChannelPush, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

type approvalWSServer struct {
	url     string
	broker  *inmem.Ephemeral
	slots   *wsSlots
	closing chan struct{}
}

// newApprovalWSServer serves handleApprovalWS behind a gate that only
// reserves the slot; poller false reads with a goroutine per websocket (as
// where there is no epoll).
func newApprovalWSServer(t *testing.T, poller bool) *approvalWSServer {
	t.Helper()
	if !poller {
		wsPollerOf = func() *wsPoller { return nil }
		t.Cleanup(func() { wsPollerOf = theWSPoller })
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broker := inmem.New(core.SystemClock{})
	t.Cleanup(func() { _ = broker.Close() })
	h, err := hub.New(context.Background(), broker, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	srv := &approvalWSServer{broker: broker, slots: newWSSlots(DefaultWebsocketLimits()), closing: make(chan struct{})}
	const origin = "https://login.example"
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	srv.slots.watch(app.Server())
	app.Get("/ws/:id", func(c *fiber.Ctx) error {
		// Cloned, as wsTicketGate does: fiber's Params point into its
		// pooled Ctx, and the slot's id outlives the request.
		slot, err := srv.slots.reserve(strings.Clone(c.Params("id")), "")
		if err != nil {
			return err
		}
		c.Locals(wsSlotKey, slot)
		return c.Next()
	}, handleApprovalWS(h, pendingStore{}, srv.slots, core.SystemClock{}, []string{origin}, srv.closing, log, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	srv.url = "ws://" + ln.Addr().String() + "/ws/"
	return srv
}

// open dials approval id's websocket and reads its first frame.
func (s *approvalWSServer) open(t *testing.T, id string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(s.url+id, map[string][]string{"Origin": {"https://login.example"}})
	if err != nil {
		t.Fatalf("dial: %v %v", err, res)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if f := readFrame(t, conn); !strings.Contains(f, `"status":"pending"`) {
		t.Fatalf("first frame %s", f)
	}
	return conn
}

// hungUp waits until the server closed conn, then checks that its slot
// was freed first (a browser that saw the hang-up may reconnect at once).
func (s *approvalWSServer) hungUp(t *testing.T, conn *websocket.Conn, id string) {
	t.Helper()
	_ = conn.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
	// A reset is a hang-up too: the client library answers the server's
	// close with its own, which may reach a socket already closed.
	if _, err := io.Copy(io.Discard, conn.NetConn()); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("waiting for the server's hang-up: %v", err)
	}
	if _, onID, _ := s.slots.counts(id, ""); onID != 0 {
		t.Fatalf("after the hang-up: %d slots held on the approval", onID)
	}
}

// The approval websocket as a browser sees it, read by the poller and by a
// goroutine: its frames, the answers to what the browser sends, the close
// codes, the read limit.
func TestApprovalWebsocket(t *testing.T) {
	for _, poller := range []bool{true, false} {
		name := "goroutine reader"
		if poller {
			name = "poller"
		}
		t.Run(name, func(t *testing.T) { testApprovalWebsocket(t, poller) })
	}
}

func testApprovalWebsocket(t *testing.T, poller bool) {
	s := newApprovalWSServer(t, poller)

	t.Run("a ping is answered with its payload", func(t *testing.T) {
		conn := s.open(t, "apr_ping")
		pongs := make(chan string, 1)
		conn.SetPongHandler(func(p string) error { pongs <- p; return nil })
		if err := conn.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		go func() { _, _, _ = conn.ReadMessage() }() // the reader runs the pong handler
		select {
		case p := <-pongs:
			if p != "are you there" {
				t.Fatalf("pong %q", p)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no pong in 5 s")
		}
	})

	t.Run("the decision, then a normal close", func(t *testing.T) {
		conn := s.open(t, "apr_decided")
		if err := s.broker.Publish(context.Background(), approval.Topic("apr_decided"), []byte(`{"type":"status","status":"approved"}`)); err != nil {
			t.Fatal(err)
		}
		if f := readFrame(t, conn); !strings.Contains(f, `"status":"approved"`) {
			t.Fatalf("frame %s", f)
		}
		expectClose(t, conn, websocket.CloseNormalClosure, "approved")
		s.hungUp(t, conn, "apr_decided")
	})

	t.Run("the browser's close is echoed", func(t *testing.T) {
		conn := s.open(t, "apr_close")
		if err := conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		expectClose(t, conn, 4001, "")
		s.hungUp(t, conn, "apr_close")
	})

	t.Run("a message over the read limit", func(t *testing.T) {
		conn := s.open(t, "apr_big")
		if err := conn.WriteMessage(websocket.TextMessage, make([]byte, wsReadLimit+1)); err != nil {
			t.Fatal(err)
		}
		expectClose(t, conn, websocket.CloseMessageTooBig, "")
		s.hungUp(t, conn, "apr_big")
	})

	t.Run("messages within the limit are ignored", func(t *testing.T) {
		conn := s.open(t, "apr_chatty")
		for range 3 {
			if err := conn.WriteMessage(websocket.TextMessage, make([]byte, wsReadLimit)); err != nil {
				t.Fatal(err)
			}
		}
		pongs := make(chan string, 1)
		conn.SetPongHandler(func(p string) error { pongs <- p; return nil })
		if err := conn.WriteControl(websocket.PingMessage, []byte("still"), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		go func() { _, _, _ = conn.ReadMessage() }()
		select {
		case <-pongs:
		case <-time.After(5 * time.Second):
			t.Fatal("no pong in 5 s after the messages")
		}
	})

	t.Run("an unmasked frame is a protocol error", func(t *testing.T) {
		conn := s.open(t, "apr_unmasked")
		if _, err := conn.NetConn().Write([]byte{0x8a, 0x00}); err != nil { // a pong without a mask
			t.Fatal(err)
		}
		expectClose(t, conn, websocket.CloseProtocolError, "frames from client to server must be masked") // gobwas/ws's text
		s.hungUp(t, conn, "apr_unmasked")
	})

	t.Run("a hang-up frees the slot", func(t *testing.T) {
		conn := s.open(t, "apr_gone")
		if err := conn.NetConn().(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		s.hungUp(t, conn, "apr_gone")
	})

	t.Run("shutdown closes with going away", func(t *testing.T) {
		conn := s.open(t, "apr_shutdown")
		close(s.closing)
		expectClose(t, conn, websocket.CloseGoingAway, "server shutting down")
		s.hungUp(t, conn, "apr_shutdown")
	})
}

// The timer pings every wsPingEvery and ends a browser that has not sent a
// pong for wsPongWait, as the read deadline did.
func TestWSTimer(t *testing.T) {
	const s = int64(time.Second)
	start := int64(1000) * s
	nextPing, pongBy := start+int64(wsPingEvery), start+int64(wsPongWait)
	cases := []struct {
		name              string
		now, next, pongBy int64
		ping, drop        bool
		again             time.Duration
	}{
		{"at the first ping", nextPing, nextPing, pongBy, true, false, wsPingEvery},
		{"a ping with the deadline nearer than the next", start + 50*s, start + 50*s, pongBy, true, false, 10 * time.Second},
		{"at the deadline, no pong", pongBy, start + 75*s, pongBy, false, true, 0},
		{"woken early", start + 10*s, nextPing, pongBy, false, false, 15 * time.Second},
	}
	for _, c := range cases {
		ping, drop, again := wsTimer(c.now, c.next, c.pongBy)
		if ping != c.ping || drop != c.drop || (!drop && again != c.again) {
			t.Errorf("%s: ping %v drop %v again %v; want %v %v %v", c.name, ping, drop, again, c.ping, c.drop, c.again)
		}
	}
}
