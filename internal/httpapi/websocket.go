package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/metrics"
)

// Websocket timings: a ping every wsPingEvery; a client silent for longer
// than wsPongWait (no pong) is gone.
const (
	wsPingEvery   = 25 * time.Second
	wsPongWait    = 60 * time.Second
	wsWriteWait   = 5 * time.Second
	wsReadLimit   = 4 << 10 // clients send nothing but control frames
	approvalIDKey = "approval_id"
)

// wsGate admits a websocket upgrade only from an allowed Origin and with
// the approval's ticket; it runs before the upgrade so a refusal is a plain
// HTTP answer in the contract's error body.
func wsGate(approvals *approval.Service, h *hub.Hub, origins []string, perApproval int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return core.Errorf(core.EInvalidRequest, "this endpoint needs a websocket upgrade")
		}
		if !slices.Contains(origins, strings.TrimSuffix(c.Get(fiber.HeaderOrigin), "/")) {
			return core.Errorf(core.EForbidden, "origin not allowed")
		}
		a, err := approvals.ByTicket(c.UserContext(), c.Params("id"), c.Query("ticket"))
		if err != nil {
			return err
		}
		// At most perApproval websockets per approval on this instance: a
		// browser needs one, a reconnecting one briefly two.
		if h.Listeners(approval.Channel(a.ID)) >= perApproval {
			return core.RateLimited(5 * time.Second)
		}
		c.Locals(approvalIDKey, strings.Clone(a.ID))
		return c.Next()
	}
}

// approvalReader reads an approval's current state.
type approvalReader interface {
	Approval(ctx context.Context, id string) (*core.Approval, error)
}

// handleApprovalWS streams an approval's state: the current state on
// connect, then every change, then a normal close after the final state.
func handleApprovalWS(h *hub.Hub, store approvalReader, clock core.Clock, origins []string, closing <-chan struct{}, log *slog.Logger, m *metrics.Metrics) fiber.Handler {
	return websocket.New(func(conn *websocket.Conn) {
		m.WebsocketOpened()
		defer m.WebsocketClosed()
		id, _ := conn.Locals(approvalIDKey).(string)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		// Subscribe before reading the state, so a decision between the
		// two is never lost.
		subCtx, subCancel := context.WithTimeout(ctx, 5*time.Second)
		w, err := h.Wait(subCtx, approval.Channel(id))
		subCancel()
		if err != nil {
			log.Warn("websocket subscribe failed", "approval_id", id, "err", err)
			closeWS(conn, websocket.CloseInternalServerErr, "unavailable")
			return
		}
		defer w.Close()

		s := wsSession{conn: conn, id: id, store: store, clock: clock, log: log}
		if s.sendState(ctx) {
			return
		}
		conn.SetReadLimit(wsReadLimit)
		_ = conn.SetReadDeadline(time.Now().Add(wsPongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
		go func() { // reads only to see control frames and the close
			defer cancel()
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
			}
		}()
		ping := time.NewTicker(wsPingEvery)
		defer ping.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-closing:
				closeWS(conn, websocket.CloseGoingAway, "server shutting down")
				return
			case <-w.Broken:
				closeWS(conn, websocket.CloseInternalServerErr, "unavailable")
				return
			case msg := <-w.C:
				ev, err := approval.DecodeEvent(msg)
				if err != nil {
					continue
				}
				if !s.write(ev.JSON) {
					return
				}
				if ev.Frame.Final() {
					m.DecisionWritten(ev.PublishedAt)
					closeWS(conn, websocket.CloseNormalClosure, ev.Frame.Status)
					return
				}
			case <-w.Resync:
				if s.sendState(ctx) {
					return
				}
			case <-ping.C:
				if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)) != nil {
					return
				}
			}
		}
	}, websocket.Config{
		Origins:          origins,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		RecoverHandler: func(conn *websocket.Conn) {
			if r := recover(); r != nil {
				log.Error("websocket handler panicked", "panic", r)
				closeWS(conn, websocket.CloseInternalServerErr, "internal error")
			}
		},
	})
}

type wsSession struct {
	conn  *websocket.Conn
	id    string
	store approvalReader
	clock core.Clock
	log   *slog.Logger
}

// sendState sends the approval's current state, on connect and on a resync
// (where a fallback may have been missed); true when the connection is done
// (final state sent and closed, or an error).
func (s *wsSession) sendState(ctx context.Context) (done bool) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	a, err := s.store.Approval(rctx, s.id)
	cancel()
	if err != nil {
		s.log.Warn("websocket state read failed", "approval_id", s.id, "err", err)
		closeWS(s.conn, websocket.CloseInternalServerErr, "unavailable")
		return true
	}
	f := approval.StatusFrame(a)
	if a.Status == core.ApprovalPending && !s.clock.Now().Before(a.ExpiresAt) {
		f = approval.Frame{Type: "status", Status: string(core.ApprovalExpired)}
	}
	b, _ := json.Marshal(f)
	if !s.write(b) {
		return true
	}
	if f.Final() {
		closeWS(s.conn, websocket.CloseNormalClosure, f.Status)
		return true
	}
	return false
}

func (s *wsSession) write(msg []byte) bool {
	_ = s.conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
	return s.conn.WriteMessage(websocket.TextMessage, msg) == nil
}

func closeWS(conn *websocket.Conn, code int, text string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(wsWriteWait))
	_ = conn.Close()
}
