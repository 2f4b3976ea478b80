package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/metrics"
)

// Websocket timings: a ping every wsPingEvery; a client silent for longer
// than wsPongWait (no pong) is gone.
const (
	wsPingEvery = 25 * time.Second
	wsPongWait  = 60 * time.Second
	wsWriteWait = 5 * time.Second
	wsReadLimit = 4 << 10 // clients send nothing but control frames
	wsSlotKey   = "ws_slot"
)

// wsGate admits a websocket upgrade only from an allowed Origin, with the
// approval's ticket and within the websocket limits; it runs before the
// upgrade so a refusal is a plain HTTP answer in the contract's error body.
// The slot it reserves is the upgrade's until the websocket ends.
func wsGate(approvals *approval.Service, slots *wsSlots, origins []string) fiber.Handler {
	return wsTicketGate(slots,
		func(origin string) bool { return slices.Contains(origins, strings.TrimSuffix(origin, "/")) },
		func(ctx context.Context, id, ticket string) (string, error) {
			a, err := approvals.ByTicket(ctx, id, ticket)
			if err != nil {
				return "", err
			}
			return a.ID, nil
		})
}

// wsTicketGate admits a websocket upgrade whose Origin originOK accepts
// and whose ticket admit takes (it names what the slot counts), within
// the slots. Reserved here, not counted from the hub's listeners
// (registered only after the upgrade), so simultaneous upgrades cannot
// overshoot.
func wsTicketGate(slots *wsSlots, originOK func(origin string) bool,
	admit func(ctx context.Context, id, ticket string) (string, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !websocket.FastHTTPIsWebSocketUpgrade(c.Context()) {
			return core.Errorf(core.EInvalidRequest, "this endpoint needs a websocket upgrade")
		}
		if !originOK(c.Get(fiber.HeaderOrigin)) {
			return core.Errorf(core.EForbidden, "origin not allowed")
		}
		counted, err := admit(c.UserContext(), c.Params("id"), c.Query("ticket"))
		if err != nil {
			return err
		}
		slot, err := slots.reserve(strings.Clone(counted), core.ClientFrom(c.UserContext()).LimitKey())
		if err != nil {
			return err
		}
		c.Locals(wsSlotKey, slot)
		return c.Next()
	}
}

// approvalReader reads an approval's current state.
type approvalReader interface {
	Approval(ctx context.Context, id string) (*core.Approval, error)
}

// handleApprovalWS streams an approval's state: the current state on
// connect, then every change, then a normal close after the final state.
//
// A waiting browser costs one parked goroutine, the one fasthttp runs the
// connection on, which reads (to see pongs and the close). The hub hands
// changes over by call (hub.Listener) and pings come from a timer; both
// queue up in the session, whose writes a short-lived goroutine makes in
// order. A second goroutine per websocket, parked in a select, would cost
// as much memory again.
func handleApprovalWS(h *hub.Hub, store approvalReader, slots *wsSlots, clock core.Clock, origins []string, closing <-chan struct{}, log *slog.Logger, m *metrics.Metrics) fiber.Handler {
	shutdown := closedWhen(closing)
	return upgradeWS(origins, slots, log, func(conn *websocket.Conn, id string) {
		m.WebsocketOpened()
		defer m.WebsocketClosed()
		s := &wsSession{conn: conn, id: id, store: store, clock: clock, log: log, m: m,
			busy: true, queue: []wsItem{{state: true}}}
		s.writers.Add(1)

		// Subscribe before reading the state, so a decision between the
		// two is never lost: it queues up behind the state. (No context
		// per session: a context with children keeps a map, and bytes
		// count here.)
		subCtx, subCancel := context.WithTimeout(context.Background(), 5*time.Second)
		w, err := h.Listen(subCtx, approval.Topic(id), s)
		subCancel()
		if err != nil {
			s.writers.Done()
			log.Warn("websocket subscribe failed", "approval_id", id, "err", err)
			closeWS(conn, websocket.CloseInternalServerErr, "unavailable")
			return
		}
		defer w.Close()
		stopShutdown := context.AfterFunc(shutdown, func() {
			s.push(wsItem{closeCode: websocket.CloseGoingAway, closeText: "server shutting down"})
		})
		defer stopShutdown()
		s.pinger = time.AfterFunc(wsPingEvery, func() { s.push(wsItem{ping: true}) })
		defer s.pinger.Stop()
		// The state, and whatever came meanwhile, from a writer of its own:
		// the database read would grow this goroutine's stack for good.
		go s.write()

		conn.SetReadLimit(wsReadLimit)
		_ = conn.SetReadDeadline(time.Now().Add(wsPongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
		for { // only control frames and the close arrive
			if _, _, err := conn.ReadMessage(); err != nil {
				break
			}
		}
		// fasthttp closes and recycles the connection when this returns: no
		// write may still be under way then.
		s.finish()
	})
}

// closedWhen is a context that ends when closing is closed (never for nil).
func closedWhen(closing <-chan struct{}) context.Context {
	if closing == nil {
		return context.Background()
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-closing
		cancel()
	}()
	return ctx
}

// wsItem is one thing to write: a broker message, the current state, a
// ping, or a close.
type wsItem struct {
	msg       []byte
	state     bool
	ping      bool
	closeCode int
	closeText string
}

// wsSession is one approval websocket. Everything it writes goes through
// its queue, written by one goroutine at a time, in order.
type wsSession struct {
	conn   *websocket.Conn
	id     string
	store  approvalReader
	clock  core.Clock
	log    *slog.Logger
	m      *metrics.Metrics
	pinger *time.Timer

	mu      sync.Mutex
	queue   []wsItem
	busy    bool // a writer is at work
	done    bool // closed: nothing more is written
	writers sync.WaitGroup
}

// Message, Resync and Broken make the session a hub.Listener.
func (s *wsSession) Message(payload []byte) { s.push(wsItem{msg: payload}) }
func (s *wsSession) Resync()                { s.push(wsItem{state: true}) }
func (s *wsSession) Broken() {
	s.push(wsItem{closeCode: websocket.CloseInternalServerErr, closeText: "unavailable"})
}

// push queues it and starts a writer unless one is at work.
func (s *wsSession) push(it wsItem) {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, it)
	start := !s.busy
	if start {
		s.busy = true
		s.writers.Add(1)
	}
	s.mu.Unlock()
	if start {
		go s.write()
	}
}

// write is a writer's goroutine: it drains the queue.
func (s *wsSession) write() {
	defer s.writers.Done()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("websocket writer panicked", "panic", r)
			closeWS(s.conn, websocket.CloseInternalServerErr, "internal error")
		}
	}()
	s.drain()
}

// drain writes the queue until it is empty or the session is over.
func (s *wsSession) drain() {
	for {
		s.mu.Lock()
		if s.done || len(s.queue) == 0 {
			s.busy = false
			s.mu.Unlock()
			return
		}
		it := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		if s.writeItem(it) {
			s.mu.Lock()
			s.done, s.queue = true, nil
			s.mu.Unlock()
		}
	}
}

// finish ends the session and waits for a writer still at work.
func (s *wsSession) finish() {
	s.mu.Lock()
	s.done, s.queue = true, nil
	s.mu.Unlock()
	s.writers.Wait()
}

// writeItem makes one item's write; true when the connection is done (a
// final state sent and closed, a close, or an error).
func (s *wsSession) writeItem(it wsItem) (done bool) {
	switch {
	case it.msg != nil:
		ev, err := approval.DecodeEnvelope(it.msg)
		if err != nil {
			return false
		}
		if !s.send(ev.JSON) {
			return true
		}
		if ev.Frame.Final() {
			s.m.DecisionWritten(ev.PublishedAt)
			closeWS(s.conn, websocket.CloseNormalClosure, ev.Frame.Status)
			return true
		}
		return false
	case it.state:
		return s.sendState()
	case it.ping:
		if s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)) != nil {
			_ = s.conn.Close()
			return true
		}
		s.pinger.Reset(wsPingEvery)
		return false
	default:
		closeWS(s.conn, it.closeCode, it.closeText)
		return true
	}
}

// sendState sends the approval's current state, on connect and on a resync
// (where a fallback may have been missed); true when the connection is done
// (final state sent and closed, or an error).
func (s *wsSession) sendState() (done bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	a, err := s.store.Approval(ctx, s.id)
	cancel()
	if err != nil {
		s.log.Warn("websocket state read failed", "approval_id", s.id, "err", err)
		closeWS(s.conn, websocket.CloseInternalServerErr, "unavailable")
		return true
	}
	f := approval.StateFrame(a, s.clock.Now())
	b, _ := json.Marshal(f)
	if !s.send(b) {
		return true
	}
	if f.Final() {
		closeWS(s.conn, websocket.CloseNormalClosure, f.Status)
		return true
	}
	return false
}

// send writes one text frame; false (after closing) when it failed.
func (s *wsSession) send(msg []byte) bool {
	_ = s.conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
	if s.conn.WriteMessage(websocket.TextMessage, msg) != nil {
		_ = s.conn.Close()
		return false
	}
	return true
}

func closeWS(conn *websocket.Conn, code int, text string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(wsWriteWait))
	_ = conn.Close()
}
