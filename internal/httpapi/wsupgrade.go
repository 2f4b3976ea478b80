package httpapi

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/approvald/approvald/internal/core"
)

// wsWriteBuffers lends the library's write buffers for the time of a
// write: a device's websocket writes a frame now and then, so a buffer of
// its own would sit idle. (An approval's websocket writes with wsWriter.)
var wsWriteBuffers = &sync.Pool{}

// upgradeWS upgrades an admitted request (wsGate reserved its slot) and
// runs serve on the websocket. serve returns whether the websocket lives
// on past the call (the approval websocket, read by the poller): it then
// calls closeConn once, when the websocket ends. Otherwise the connection
// is closed when serve returns. closeConn frees the slot and closes the
// connection; the slot is freed at once when the upgrade fails. (fasthttp
// closes no hijacked connection: wsSlots.watch sets KeepHijackedConns.)
// It uses fasthttp/websocket directly: gofiber/contrib/websocket copies
// every header, cookie and query parameter (the ticket among them) into
// maps that live as long as the connection, and keeps a write buffer per
// connection: memory that every waiting browser would hold for nothing
// (BENCHMARKS.md, "What each optimization bought"). readBuffer is the
// library's read buffer, which a connection keeps for its whole life.
func upgradeWS(origins []string, slots *wsSlots, log *slog.Logger, readBuffer int, serve func(conn *websocket.Conn, id string, closeConn func()) (kept bool)) fiber.Handler {
	upgrader := websocket.FastHTTPUpgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   readBuffer,
		WriteBufferSize:  1024,
		WriteBufferPool:  wsWriteBuffers,
		CheckOrigin: func(ctx *fasthttp.RequestCtx) bool {
			// As wsGate checks it, which has already admitted the request.
			return slices.Contains(origins, strings.TrimSuffix(string(ctx.Request.Header.Peek(fiber.HeaderOrigin)), "/"))
		},
	}
	return func(c *fiber.Ctx) error {
		slot := c.Locals(wsSlotKey).(*wsSlot)
		fctx := c.Context()
		netConn := fctx.Conn()
		err := upgrader.Upgrade(fctx, func(conn *websocket.Conn) {
			slots.taken(netConn)
			releaseRequest(fctx)
			// The socket, not the library's Conn, which a kept websocket
			// lets go (handleApprovalWS).
			socket := socketOf(conn.NetConn())
			var closed atomic.Bool
			closeConn := func() {
				if closed.CompareAndSwap(false, true) {
					// The slot first: a client that saw the hang-up may
					// reconnect at once.
					slots.release(slot)
					_ = socket.Close()
				}
			}
			kept := false
			defer func() {
				if r := recover(); r != nil {
					log.Error("websocket handler panicked", "panic", r)
					closeWS(conn, websocket.CloseInternalServerErr, "internal error")
				}
				if !kept {
					closeConn()
				}
			}()
			kept = serve(conn, slot.approvalID, closeConn)
		})
		if err != nil {
			slots.release(slot)
			// A handshake the upgrader refuses (no key, wrong version) is a
			// malformed request, not a server fault.
			return core.Errorf(core.EInvalidRequest, "not a valid websocket handshake")
		}
		// The handler runs once fasthttp has written the 101, which may fail.
		slots.handOver(netConn, slot)
		return nil
	}
}

// releaseRequest drops what fasthttp keeps of an upgrade request for the
// whole life of the hijacked connection: the parsed request and its
// headers, the response it wrote, the request's context and locals, which
// nothing reads once the upgrade is answered, yet every waiting browser
// would keep (BENCHMARKS.md). The connection's goroutine is then the only
// user of ctx, and fasthttp resets and pools it when the connection ends,
// which works as well on the empty values.
func releaseRequest(ctx *fasthttp.RequestCtx) {
	ctx.ResetUserValues()
	ctx.Request = fasthttp.Request{}
	ctx.Response = fasthttp.Response{}
}
