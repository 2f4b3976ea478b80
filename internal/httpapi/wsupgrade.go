package httpapi

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// wsWriteBuffers lends write buffers to websockets for the time of a write:
// an approval's websocket writes two or three frames in its life, so a
// buffer of its own would sit idle.
var wsWriteBuffers = &sync.Pool{}

// upgradeWS upgrades an admitted request (wsGate stored the approval id)
// and runs serve on the websocket. It uses fasthttp/websocket directly:
// gofiber/contrib/websocket copies every header, cookie and query
// parameter (the ticket among them) into maps that live as long as the
// connection, and keeps a write buffer per connection; with ten thousand
// waiting browsers that is most of a megabyte per thousand.
func upgradeWS(origins []string, log *slog.Logger, serve func(conn *websocket.Conn, approvalID string)) fiber.Handler {
	upgrader := websocket.FastHTTPUpgrader{
		HandshakeTimeout: 10 * time.Second,
		// Browsers send nothing but control frames (at most 125 bytes).
		ReadBufferSize:  256,
		WriteBufferSize: 1024,
		WriteBufferPool: wsWriteBuffers,
		CheckOrigin: func(ctx *fasthttp.RequestCtx) bool {
			// As wsGate checks it, which has already admitted the request.
			return slices.Contains(origins, strings.TrimSuffix(string(ctx.Request.Header.Peek(fiber.HeaderOrigin)), "/"))
		},
	}
	return func(c *fiber.Ctx) error {
		id, _ := c.Locals(approvalIDKey).(string)
		err := upgrader.Upgrade(c.Context(), func(conn *websocket.Conn) {
			defer func() {
				if r := recover(); r != nil {
					log.Error("websocket handler panicked", "panic", r)
					closeWS(conn, websocket.CloseInternalServerErr, "internal error")
				}
			}()
			serve(conn, id)
		})
		if err != nil {
			return fiber.ErrUpgradeRequired
		}
		return nil
	}
}
