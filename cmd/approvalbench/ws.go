package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// browser is one waiting browser on the approval's websocket.
type browser struct {
	conn       *websocket.Conn
	ready      chan struct{} // closed at the first frame: the pending state
	approvedAt atomic.Int64  // Unix ns when the approved frame arrived
	broken     atomic.Bool   // the connection ended before a final frame, or said something unexpected
	done       chan struct{} // closed when the reader stopped
}

var (
	framePending  = []byte(`"status":"pending"`)
	frameApproved = []byte(`"status":"approved"`)
)

// openBrowsers opens one websocket per user, workers at a time, each
// waiting for its first frame (the pending state) before counting as open.
// The pages' Origin is origin, approvald's PUBLIC_URL (which differs from
// serverURL when the passkey phase gave it a host name).
func openBrowsers(ctx context.Context, serverURL, origin string, src *sourceAddrs, users []*user, workers int) ([]*browser, error) {
	dialer := websocket.Dialer{
		NetDialContext:   src.DialContext,
		HandshakeTimeout: 15 * time.Second,
		ReadBufferSize:   512,
		WriteBufferSize:  512,
	}
	wsBase := "ws" + strings.TrimPrefix(serverURL, "http")
	header := http.Header{"Origin": {origin}}
	out := make([]*browser, len(users))
	err := forEach(ctx, len(users), workers, func(ctx context.Context, i int) error {
		u := users[i]
		var conn *websocket.Conn
		var err error
		for attempt := range 3 { // a full accept queue answers with a reset now and then
			dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			conn, _, err = dialer.DialContext(dctx, wsBase+"/api/v1/approvals/"+u.ApprovalID+"/ws?ticket="+u.Ticket, header)
			cancel()
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("websocket %d: %w", i, err)
		}
		b := &browser{conn: conn, ready: make(chan struct{}), done: make(chan struct{})}
		go b.read()
		select {
		case <-b.ready:
		case <-b.done:
			return fmt.Errorf("websocket %d closed before its first frame", i)
		case <-time.After(15 * time.Second):
			return fmt.Errorf("websocket %d: no first frame in 15 s", i)
		}
		out[i] = b
		return nil
	})
	if err != nil {
		closeBrowsers(out)
		return nil, err
	}
	return out, nil
}

// read follows the frames until the connection ends: the pending state
// first, then (for a decided approval) approved and the server's close.
func (b *browser) read() {
	defer close(b.done)
	first := true
	final := false
	for {
		_, msg, err := b.conn.ReadMessage()
		at := time.Now()
		if err != nil {
			if !final && !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				b.broken.Store(true)
			}
			if first {
				b.broken.Store(true)
			}
			return
		}
		switch {
		case first && bytes.Contains(msg, framePending):
			first = false
			close(b.ready)
		case !first && bytes.Contains(msg, framePending):
			// The state again, after a resync: still waiting.
		case !first && bytes.Contains(msg, frameApproved):
			b.approvedAt.Store(at.UnixNano())
			final = true
		default:
			b.broken.Store(true)
		}
	}
}

// closeBrowsers hangs up every open browser and waits for their readers.
func closeBrowsers(bs []*browser) {
	for _, b := range bs {
		if b != nil {
			_ = b.conn.Close()
		}
	}
	for _, b := range bs {
		if b != nil {
			<-b.done
		}
	}
}

// awaitFrames waits until every approved callback's browser heard of it,
// or until timeout.
func awaitFrames(ctx context.Context, d *decisions, bs []*browser, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		missing := false
		for i := range bs {
			if d.approved[i].Load() && bs[i].approvedAt.Load() == 0 {
				missing = true
				break
			}
		}
		if !missing {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
