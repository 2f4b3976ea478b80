package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
)

// WS is a browser's websocket on an approval.
type WS struct {
	Conn   *websocket.Conn
	frames chan map[string]any
	closed chan int // the close code (-1: no close frame)
}

// DialWS opens approval id's websocket with ticket, sending origin as the
// Origin header (none when empty). It is closed when tb ends.
func (c *Client) DialWS(tb TB, id, ticket, origin string) (*WS, *http.Response, error) {
	tb.Helper()
	u := "ws" + strings.TrimPrefix(c.URL, "http") + "/api/v1/approvals/" + id + "/ws?ticket=" + ticket
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(u, h)
	if err != nil {
		return nil, res, err
	}
	w := &WS{Conn: conn, frames: make(chan map[string]any, 16), closed: make(chan int, 1)}
	go func() {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				code := -1
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				w.closed <- code
				close(w.frames)
				return
			}
			var f map[string]any
			_ = json.Unmarshal(msg, &f)
			w.frames <- f
		}
	}()
	tb.Cleanup(func() { conn.Close() })
	return w, res, nil
}

// MustWS opens l's websocket from the client's own origin.
func (c *Client) MustWS(tb TB, l Login) *WS {
	tb.Helper()
	w, res, err := c.DialWS(tb, l.ID, l.Ticket, c.URL)
	if err != nil {
		tb.Fatalf("websocket: %v (%v)", err, res)
	}
	return w
}

// Next waits (up to 10 s) for the next frame.
func (w *WS) Next(tb TB) map[string]any {
	tb.Helper()
	select {
	case f, ok := <-w.frames:
		if !ok {
			tb.Fatalf("websocket closed while a frame was expected")
		}
		return f
	case <-time.After(10 * time.Second):
		tb.Fatalf("no websocket frame in 10 s")
		return nil
	}
}

// ExpectFrame reads the next frame and checks the fields of want.
func (w *WS) ExpectFrame(tb TB, want map[string]any) {
	tb.Helper()
	f := w.Next(tb)
	for k, v := range want {
		if f[k] != v {
			tb.Fatalf("frame %v, want %v", f, want)
		}
	}
}

// ExpectClose waits (up to 10 s) for the server's close, with no frame
// before it, and checks its code.
func (w *WS) ExpectClose(tb TB, code int) {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-w.frames:
			if ok {
				tb.Fatalf("unexpected frame before close: %v", f)
			}
		case got := <-w.closed:
			if got != code {
				tb.Fatalf("close code %d, want %d", got, code)
			}
			return
		case <-timeout:
			tb.Fatalf("websocket not closed in 10 s")
		}
	}
}
