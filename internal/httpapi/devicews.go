package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/hub"
)

// The device websocket: GET /api/v1/devices/{id}/ws?ticket=… opened with a
// ticket from the signed POST /api/v1/devices/{id}/ws-ticket (a browser
// cannot sign a websocket's headers). It sends the device's pending
// approvals on connect, then each message of the device's broker channel
// (approval.DeviceTopic): new approvals (signed by the server), changes, and
// the device's removal, after which it closes.

// deviceWSQueue bounds the frames waiting for a slow device; past it the
// device is dropped (it reconnects and re-reads what is pending).
const deviceWSQueue = 64

// deviceOrigins are the Origins a device websocket accepts: none (apps and
// the command line send none) and PUBLIC_URL's own (the web authenticator).
func deviceOrigins(publicURL string) []string {
	origins := []string{""}
	if u, err := url.Parse(publicURL); err == nil && u.Scheme != "" && u.Host != "" {
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return origins
}

func handleDeviceWSTicket(approvals *approval.Service, pathPrefix string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		dev, err := approvals.AuthenticateDevice(c.UserContext(), signedRequest(c, pathPrefix), c.Params("id"))
		if err != nil {
			return err
		}
		ticket, ttl, err := approvals.IssueDeviceWSTicket(c.UserContext(), dev)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		// Whole seconds, rounded up: a ticket of under a second says 1.
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"ticket": ticket, "expires_in": int((ttl + time.Second - 1) / time.Second)})
	}
}

// deviceWSGate admits a device websocket: an upgrade, from no Origin or
// PUBLIC_URL's, with an unspent ticket of this device, within the limits
// (a device counts as an approval does: LIMIT_WEBSOCKETS_PER_APPROVAL).
func deviceWSGate(approvals *approval.Service, slots *wsSlots, origins []string) fiber.Handler {
	return wsTicketGate(slots,
		func(origin string) bool { return originAllowed(origins, origin) },
		func(ctx context.Context, id, ticket string) (string, error) {
			dev, err := approvals.UseDeviceWSTicket(ctx, id, ticket)
			if err != nil {
				return "", err
			}
			return dev.ID, nil
		})
}

func originAllowed(origins []string, origin string) bool {
	origin = strings.TrimSuffix(origin, "/")
	for _, o := range origins {
		if o == origin {
			return true
		}
	}
	return false
}

// devicePending reads what a device websocket sends on connect.
type devicePending interface {
	DevicePending(ctx context.Context, deviceID string) ([]approval.PushRequest, bool, error)
}

// handleDeviceWS runs an admitted device websocket. Devices are few (one or
// two per user), so each has a writer goroutine of its own, fed by a
// bounded queue; the connection's goroutine reads (pongs, the close).
func handleDeviceWS(h *hub.Hub, pending devicePending, slots *wsSlots, origins []string, closing <-chan struct{}, log *slog.Logger) fiber.Handler {
	shutdown := closedWhen(closing)
	// Browsers and devices send nothing but control frames (at most 125
	// bytes).
	return upgradeWS(origins, slots, log, 256, func(conn *websocket.Conn, deviceID string, _ func()) bool {
		s := &deviceSession{conn: conn, id: deviceID, pending: pending, log: log,
			out: make(chan deviceItem, deviceWSQueue), done: make(chan struct{})}
		s.out <- deviceItem{state: true}
		subCtx, subCancel := context.WithTimeout(context.Background(), 5*time.Second)
		w, err := h.Listen(subCtx, approval.DeviceTopic(deviceID), s)
		subCancel()
		if err != nil {
			log.Warn("device websocket subscribe failed", "device_id", deviceID, "err", err)
			closeWS(conn, websocket.CloseInternalServerErr, "unavailable")
			return false
		}
		defer w.Close()
		stopShutdown := context.AfterFunc(shutdown, func() {
			s.enqueue(deviceItem{closeCode: websocket.CloseGoingAway, closeText: "server shutting down"})
		})
		defer stopShutdown()
		var writer sync.WaitGroup
		writer.Go(s.write)

		conn.SetReadLimit(wsReadLimit)
		_ = conn.SetReadDeadline(time.Now().Add(wsPongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
		for { // only control frames and the close arrive
			if _, _, err := conn.ReadMessage(); err != nil {
				break
			}
		}
		close(s.done)
		writer.Wait()
		return false
	})
}

type deviceItem struct {
	msg       []byte
	state     bool
	closeCode int
	closeText string
}

type deviceSession struct {
	conn    *websocket.Conn
	id      string
	pending devicePending
	log     *slog.Logger
	out     chan deviceItem
	done    chan struct{}
}

// Message, Resync and Broken make the session a hub.Listener.
func (s *deviceSession) Message(payload []byte) { s.enqueue(deviceItem{msg: payload}) }
func (s *deviceSession) Resync()                { s.enqueue(deviceItem{state: true}) }
func (s *deviceSession) Broken() {
	s.enqueue(deviceItem{closeCode: websocket.CloseInternalServerErr, closeText: "unavailable"})
}

// enqueue never blocks: a device that cannot keep up is disconnected.
func (s *deviceSession) enqueue(it deviceItem) {
	select {
	case s.out <- it:
	default:
		s.log.Warn("device websocket too slow; closed", "device_id", s.id)
		_ = s.conn.Close()
	}
}

// write is the writer goroutine: the queue and the pings, until the
// connection is done.
func (s *deviceSession) write() {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("device websocket writer panicked", "panic", r)
			closeWS(s.conn, websocket.CloseInternalServerErr, "internal error")
		}
	}()
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ping.C:
			if s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)) != nil {
				_ = s.conn.Close()
				return
			}
		case it := <-s.out:
			if s.writeItem(it) {
				return
			}
		}
	}
}

// writeItem writes one item; true when the connection is done.
func (s *deviceSession) writeItem(it deviceItem) (done bool) {
	switch {
	case it.msg != nil:
		var f struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(it.msg, &f) != nil || f.Type == "" {
			return false
		}
		if !s.send(it.msg) {
			return true
		}
		if f.Type == approval.DeviceFrameRemoved {
			closeWS(s.conn, websocket.CloseNormalClosure, approval.DeviceFrameRemoved)
			return true
		}
		return false
	case it.state:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		list, removed, err := s.pending.DevicePending(ctx, s.id)
		cancel()
		if err != nil {
			s.log.Warn("device websocket read failed", "device_id", s.id, "err", err)
			closeWS(s.conn, websocket.CloseInternalServerErr, "unavailable")
			return true
		}
		if removed {
			b, _ := json.Marshal(approval.DeviceFrame{Type: approval.DeviceFrameRemoved, DeviceID: s.id})
			if s.send(b) {
				closeWS(s.conn, websocket.CloseNormalClosure, approval.DeviceFrameRemoved)
			}
			return true
		}
		if list == nil {
			list = []approval.PushRequest{}
		}
		b, _ := json.Marshal(struct {
			Type      string                 `json:"type"`
			Approvals []approval.PushRequest `json:"approvals"`
		}{approval.DeviceFramePending, list})
		return !s.send(b)
	default:
		closeWS(s.conn, it.closeCode, it.closeText)
		return true
	}
}

// send writes one text frame; false (after closing) when it failed.
func (s *deviceSession) send(msg []byte) bool {
	_ = s.conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
	if s.conn.WriteMessage(websocket.TextMessage, msg) != nil {
		_ = s.conn.Close()
		return false
	}
	return true
}
