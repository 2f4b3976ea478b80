package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gobwas/ws"
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
// A waiting browser costs no goroutine. The connection's goroutine sets
// the session up and returns; the process's poller (wsPoller) starts a
// short-lived reader when the browser sends something (pongs, its close),
// the hub hands changes over by call (hub.Listener) and pings come from a
// timer. Writes queue up in the session, which a short-lived goroutine
// makes in order. A goroutine parked per websocket cost its stack (4 KiB)
// and kept fasthttp's request context alive (about 2 KiB): most of a
// waiting browser's memory (BENCHMARKS.md).
func handleApprovalWS(h *hub.Hub, store approvalReader, slots *wsSlots, clock core.Clock, origins []string, closing <-chan struct{}, log *slog.Logger, m *metrics.Metrics) fiber.Handler {
	shutdown := closedWhen(closing)
	// fasthttp/websocket's reader is never used: 125 bytes is its least.
	return upgradeWS(origins, slots, log, ws.MaxControlFramePayloadSize, func(conn *websocket.Conn, id string, closeConn func()) bool {
		m.WebsocketOpened()
		// Only the socket is kept: the library's Conn (its read buffer,
		// handlers and lock, about 700 bytes) goes once this returns.
		hijacked := conn.NetConn()
		s := &wsSession{w: wsWriter{nc: socketOf(hijacked)}, id: id, store: store, clock: clock, log: log, m: m,
			closeConn: closeConn, busy: true, queue: []wsItem{{state: true}}}

		// Subscribe before reading the state, so a decision between the
		// two is never lost: it queues up behind the state. (No context
		// per session: a context with children keeps a map, and bytes
		// count here.)
		subCtx, subCancel := context.WithTimeout(context.Background(), 5*time.Second)
		w, err := h.Listen(subCtx, approval.Topic(id), s)
		subCancel()
		if err != nil {
			m.WebsocketClosed()
			log.Warn("websocket subscribe failed", "approval_id", id, "err", err)
			closeWS(conn, websocket.CloseInternalServerErr, "unavailable")
			return false
		}
		s.waiter = w
		s.stopShutdown = context.AfterFunc(shutdown, func() {
			s.push(wsItem{closeCode: ws.StatusGoingAway, closeText: "server shutting down"})
		})
		now := time.Now()
		s.nextPing = now.Add(wsPingEvery).UnixNano()
		s.pongBy.Store(now.Add(wsPongWait).UnixNano())
		s.pinger = time.AfterFunc(wsPingEvery, s.tick)
		// The state, and whatever came meanwhile, from a writer of its own.
		go s.write()
		s.startReading(hijacked)
		return true
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
	closeCode ws.StatusCode
	closeText string
}

// wsSession is one approval websocket. Everything it writes goes through
// its queue, written by one goroutine at a time, in order; what the
// browser sends is read by the poller's short-lived readers (or, without a
// poller, by a goroutine of its own), one at a time.
type wsSession struct {
	w            wsWriter
	id           string
	store        approvalReader
	clock        core.Clock
	log          *slog.Logger
	m            *metrics.Metrics
	closeConn    func() // closes the connection and frees its slot
	waiter       *hub.Waiter
	stopShutdown func() bool
	pinger       *time.Timer
	nextPing     int64        // Unix ns of the next ping; the timer's own
	pongBy       atomic.Int64 // Unix ns: a browser silent (no pong) until then is gone
	frames       wsFrames     // the readers' own

	mu    sync.Mutex
	queue []wsItem
	busy  bool        // a writer is at work
	ended bool        // torn down (end): nothing more is written
	rd    *wsReadable // the poller's watch, once reading started
}

// Message, Resync and Broken make the session a hub.Listener.
func (s *wsSession) Message(payload []byte) { s.push(wsItem{msg: payload}) }
func (s *wsSession) Resync()                { s.push(wsItem{state: true}) }
func (s *wsSession) Broken() {
	s.push(wsItem{closeCode: ws.StatusInternalServerError, closeText: "unavailable"})
}

// push queues it and starts a writer unless one is at work.
func (s *wsSession) push(it wsItem) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, it)
	start := !s.busy
	if start {
		s.busy = true
	}
	s.mu.Unlock()
	if start {
		go s.write()
	}
}

// write is a writer's goroutine: it drains the queue.
func (s *wsSession) write() {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("websocket writer panicked", "panic", r)
			s.w.close(ws.StatusInternalServerError, "internal error")
			s.end()
		}
	}()
	s.drain()
}

// drain writes the queue until it is empty or the session is over.
func (s *wsSession) drain() {
	for {
		s.mu.Lock()
		if s.ended || len(s.queue) == 0 {
			s.busy = false
			s.queue = nil // an empty slice would keep its array
			s.mu.Unlock()
			return
		}
		it := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		if s.writeItem(it) {
			s.end()
		}
	}
}

// end tears the session down, once, whoever saw it end first: the writer
// (a final state, a close, a failed write), a reader (the browser's close,
// a protocol fault, a hang-up) or the timer (no pong).
func (s *wsSession) end() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.queue = true, nil
	rd := s.rd
	s.pinger.Stop()
	s.mu.Unlock()
	if rd != nil {
		rd.stop() // before the close: the descriptor's number is reused after it
	}
	s.stopShutdown()
	s.waiter.Close()
	s.closeConn()
	s.m.WebsocketClosed()
}

// tick is the timer: a ping every wsPingEvery, and the end of a browser
// that has not answered one for wsPongWait.
func (s *wsSession) tick() {
	now := time.Now().UnixNano()
	ping, drop, next := wsTimer(now, s.nextPing, s.pongBy.Load())
	if drop {
		s.end() // as the read deadline did: no close frame, the connection just ends
		return
	}
	s.mu.Lock()
	if !s.ended { // a Reset after end's Stop would keep the session alive
		if ping {
			s.nextPing = now + int64(wsPingEvery)
		}
		s.pinger.Reset(next)
	}
	s.mu.Unlock()
	if ping {
		s.push(wsItem{ping: true})
	}
}

// wsTimer decides at now (Unix ns) whether the browser is gone (no pong by
// pongBy) or is due a ping (at nextPing), and when to look again: at the
// next ping or the pong deadline, whichever comes first.
func wsTimer(now, nextPing, pongBy int64) (ping, drop bool, next time.Duration) {
	if now >= pongBy {
		return false, true, 0
	}
	if now >= nextPing {
		ping, nextPing = true, now+int64(wsPingEvery)
	}
	return ping, false, time.Duration(min(nextPing, pongBy) - now)
}

// wsPollerOf is the poller of the approval websockets; tests switch it off
// to run the goroutine reader.
var wsPollerOf = theWSPoller

// startReading has the poller watch the connection, or, without one, a
// goroutine read it. Both read the socket itself: fasthttp's reader (the
// hijacked connection's) is pooled again once the handler returns.
func (s *wsSession) startReading(nc net.Conn) {
	raw := s.w.nc
	s.mu.Lock()
	defer s.mu.Unlock() // a reader the poller starts at once waits for rd
	if s.ended {
		return
	}
	// Bytes that came with the upgrade request sit in fasthttp's reader,
	// not in the socket: a deadline in the past hands them over without
	// touching the socket.
	_ = nc.SetReadDeadline(time.Unix(1, 0))
	var buf [256]byte
	for {
		n, err := nc.Read(buf[:])
		if n > 0 && !s.frames.feed(buf[:n], s) {
			go s.end() // it takes mu
			return
		}
		if err != nil {
			break
		}
	}
	_ = nc.SetReadDeadline(time.Time{})
	if rd, ok := wsPollerOf().watch(raw, s.readable); ok {
		s.rd = rd
		return
	}
	go s.readLoop(raw)
}

// readable reads what the browser sent, without waiting, and asks the
// poller for the next report.
func (s *wsSession) readable() {
	s.mu.Lock()
	rd, ended := s.rd, s.ended
	s.mu.Unlock()
	if ended {
		return
	}
	var buf [512]byte
	for {
		n, err := rd.read(buf[:])
		if n > 0 && !s.frames.feed(buf[:n], s) {
			s.end()
			return
		}
		switch {
		case err == errWouldBlock:
			if rd.rearm() != nil {
				s.end()
			}
			return
		case err != nil:
			s.end()
			return
		}
	}
}

// readLoop reads with a goroutine of its own, where there is no poller.
func (s *wsSession) readLoop(nc net.Conn) {
	var buf [512]byte
	for {
		n, err := nc.Read(buf[:])
		if n > 0 && !s.frames.feed(buf[:n], s) {
			break
		}
		if err != nil {
			break
		}
	}
	s.end()
}

// pong, ping, closed and fail make the session a wsFrameHandler: a pong
// echoes a ping's payload; a browser's close is answered with its code; a
// fault with its code and text (ws.NewCloseFrameBody crops a text to the
// control frame's 125 bytes).
func (s *wsSession) pong() { s.pongBy.Store(time.Now().Add(wsPongWait).UnixNano()) }
func (s *wsSession) ping(payload []byte) {
	_ = s.w.write(ws.NewPongFrame(payload))
}
func (s *wsSession) closed(code ws.StatusCode) {
	if code == ws.StatusNoStatusRcvd {
		// 1005 must not be sent (RFC 6455 7.4.1): a close without a code
		// is answered with one without a code.
		_ = s.w.write(ws.NewCloseFrame(nil))
		return
	}
	_ = s.w.write(ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
}
func (s *wsSession) fail(code ws.StatusCode, text string) {
	_ = s.w.write(ws.NewCloseFrame(ws.NewCloseFrameBody(code, text)))
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
			s.w.close(ws.StatusNormalClosure, ev.Frame.Status)
			return true
		}
		return false
	case it.state:
		return s.sendState()
	case it.ping:
		return s.w.write(ws.NewPingFrame(nil)) != nil
	default:
		s.w.close(it.closeCode, it.closeText)
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
		s.w.close(ws.StatusInternalServerError, "unavailable")
		return true
	}
	f := approval.StateFrame(a, s.clock.Now())
	b, _ := json.Marshal(f)
	if !s.send(b) {
		return true
	}
	if f.Final() {
		s.w.close(ws.StatusNormalClosure, f.Status)
		return true
	}
	return false
}

// send writes one text frame; false when it failed.
func (s *wsSession) send(msg []byte) bool {
	return s.w.write(ws.NewTextFrame(msg)) == nil
}

// wsWriter writes an approval websocket's frames (gobwas/ws builds and
// encodes them: final, unmasked as a server's are, uncompressed) on the
// socket itself, so fasthttp/websocket's Conn need not live as long as
// the websocket.
type wsWriter struct {
	mu sync.Mutex // frames whole, one at a time
	nc net.Conn
}

// write sends f in one write: ws.WriteFrame writes the header and the
// payload apart, so it writes into a buffer first.
func (w *wsWriter) write(f ws.Frame) error {
	var buf bytes.Buffer
	buf.Grow(ws.HeaderSize(f.Header) + len(f.Payload))
	if err := ws.WriteFrame(&buf, f); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.nc.SetWriteDeadline(time.Now().Add(wsWriteWait))
	_, err := w.nc.Write(buf.Bytes())
	return err
}

// close sends a close frame. The socket is closed by the session's end
// (closeConn), which frees the websocket's slot first: a browser that saw
// the hang-up may reconnect at once.
func (w *wsWriter) close(code ws.StatusCode, text string) {
	_ = w.write(ws.NewCloseFrame(ws.NewCloseFrameBody(code, text)))
}

// socketOf is the socket under fasthttp's hijacked connection.
func socketOf(nc net.Conn) net.Conn {
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		return u.UnsafeConn()
	}
	return nc
}

func closeWS(conn *websocket.Conn, code int, text string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(wsWriteWait))
	_ = conn.Close()
}
