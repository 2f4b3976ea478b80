package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/fasthttp/websocket"
)

// bidiConn is a minimal WebDriver BiDi client: it sends commands and pairs
// each answer with its command by id. Events are read and dropped; the
// Firefox tests observe the page with scripts instead.
type bidiConn struct {
	ws *websocket.Conn

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan bidiAnswer
	err     error // set once the connection is gone
	done    chan struct{}
}

// bidiAnswer is a command's answer: a result, or an error (the spec's
// "type": "error" message).
type bidiAnswer struct {
	ID      int             `json:"id"`
	Type    string          `json:"type"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// dialBiDi connects to a BiDi endpoint such as ws://127.0.0.1:PORT/session.
func dialBiDi(ctx context.Context, url string) (*bidiConn, error) {
	// No Origin header: the remote agent refuses requests that carry one.
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c := &bidiConn{ws: ws, waiting: map[int]chan bidiAnswer{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *bidiConn) readLoop() {
	defer close(c.done)
	for {
		_, raw, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("BiDi connection: %w", err)
			c.mu.Unlock()
			return
		}
		var a bidiAnswer
		if json.Unmarshal(raw, &a) != nil || a.Type == "event" || a.ID == 0 {
			continue
		}
		c.mu.Lock()
		ch := c.waiting[a.ID]
		delete(c.waiting, a.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- a
		}
	}
}

// call sends a command and decodes its result into out (unless nil).
func (c *bidiConn) call(ctx context.Context, method string, params, out any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan bidiAnswer, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.nextID++
	id := c.nextID
	c.waiting[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}

	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		forget()
		return err
	}
	c.writeMu.Lock()
	err = c.ws.WriteMessage(websocket.TextMessage, msg)
	c.writeMu.Unlock()
	if err != nil {
		forget()
		return fmt.Errorf("%s: %w", method, err)
	}

	select {
	case a := <-ch:
		if a.Type == "error" {
			return fmt.Errorf("%s: %s: %s", method, a.Error, a.Message)
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(a.Result, out)
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, c.err)
	case <-ctx.Done():
		forget()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (c *bidiConn) close() error {
	err := c.ws.Close()
	<-c.done
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	return err
}
