package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/inmem"
)

// fakePending answers DevicePending: one approval, or removed.
type fakePending struct {
	removed atomic.Bool
	reads   atomic.Int32
}

func (f *fakePending) DevicePending(_ context.Context, id string) ([]approval.PushRequest, bool, error) {
	f.reads.Add(1)
	if f.removed.Load() {
		return nil, true, nil
	}
	return []approval.PushRequest{{ApprovalID: "apr_pending", DeviceID: id}}, false, nil
}

type failingPinger struct{}

func (failingPinger) Ping(context.Context) error { return errors.New("broker down") }

// deviceWSServer serves handleDeviceWS for device dev_x behind a gate that
// only reserves the slot.
func deviceWSServer(t *testing.T, pending devicePending, closing chan struct{}) (*hub.Hub, string, *wsSlots) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broker := inmem.New(core.SystemClock{})
	t.Cleanup(func() { _ = broker.Close() })
	h, err := hub.New(context.Background(), broker, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	slots := newWSSlots(DefaultWebsocketLimits())
	origins := deviceOrigins("https://login.example/auth")
	if len(origins) != 2 || origins[0] != "" || origins[1] != "https://login.example" {
		t.Fatalf("device origins %q", origins)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	slots.watch(app.Server())
	app.Get("/ws", func(c *fiber.Ctx) error {
		slot, err := slots.reserve("dev_x", "")
		if err != nil {
			return err
		}
		c.Locals(wsSlotKey, slot)
		return c.Next()
	}, handleDeviceWS(h, pending, slots, origins, closing, log))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return h, "ws://" + ln.Addr().String() + "/ws", slots
}

func dialDevice(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v %v", err, res)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func readFrame(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(msg)
}

func expectClose(t *testing.T, conn *websocket.Conn, code int, text string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || (text != "" && ce.Text != text) {
		t.Fatalf("got %q %v; want close %d %q", msg, err, code, text)
	}
}

func TestDeviceWSSession(t *testing.T) {
	pending := &fakePending{}
	closing := make(chan struct{})
	h, url, slots := deviceWSServer(t, pending, closing)

	conn := dialDevice(t, url)
	if f := readFrame(t, conn); f != `{"type":"pending","approvals":[{"approval_id":"apr_pending","device_id":"dev_x","message":"","details":{"ip":"","user_agent":"","time":"0001-01-01T00:00:00Z"},"expires_at":"0001-01-01T00:00:00Z","callback_url":""}]}` {
		t.Fatalf("on connect: %s", f)
	}
	// What is published on the device's channel is passed on verbatim.
	frame := `{"type":"status","approval_id":"apr_1","status":"approved"}`
	h.Deliver(approval.DeviceTopic("dev_x"), []byte(frame))
	h.Deliver(approval.DeviceTopic("dev_other"), []byte(`{"type":"status","approval_id":"apr_2","status":"approved"}`))
	if f := readFrame(t, conn); f != frame {
		t.Fatalf("delivered %s", f)
	}
	// Removal: the frame, then a normal close.
	h.Deliver(approval.DeviceTopic("dev_x"), []byte(`{"type":"device_removed","device_id":"dev_x"}`))
	if f := readFrame(t, conn); !strings.Contains(f, "device_removed") {
		t.Fatalf("removal frame %s", f)
	}
	expectClose(t, conn, websocket.CloseNormalClosure, "device_removed")

	// A device removed before it connects hears so at once.
	pending.removed.Store(true)
	conn = dialDevice(t, url)
	if f := readFrame(t, conn); !strings.Contains(f, "device_removed") {
		t.Fatalf("removed on connect: %s", f)
	}
	expectClose(t, conn, websocket.CloseNormalClosure, "device_removed")
	pending.removed.Store(false)

	// The broker stops answering: 1011.
	conn = dialDevice(t, url)
	_ = readFrame(t, conn)
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		h.Watch(ctx, failingPinger{}, 10*time.Millisecond)
	}()
	expectClose(t, conn, websocket.CloseInternalServerErr, "unavailable")
	cancel()
	<-watched

	// Shutting down: 1001.
	conn = dialDevice(t, url)
	_ = readFrame(t, conn)
	close(closing)
	expectClose(t, conn, websocket.CloseGoingAway, "")

	// Every slot is given back.
	deadline := time.Now().Add(5 * time.Second)
	for {
		total, onX, _ := slots.counts("dev_x", "")
		if total == 0 && onX == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slots still held: %d, %d on the device", total, onX)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
