package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/authenticator"
)

// testDevice is an enrolled authenticator (the same protocol client the CLI
// uses) with a push endpoint on loopback.
type testDevice struct {
	State  *authenticator.State
	Client *authenticator.Client
	Pushes chan authenticator.PushRequest
	// failPushes makes the push endpoint answer 500.
	failPushes atomic.Bool
}

// enrollDevice enrolls a device for the user whose access token is given.
// withPush selects push mode (an httptest push_url) or pull mode.
func (s *testServer) enrollDevice(t *testing.T, accessToken string, withPush bool) *testDevice {
	t.Helper()
	r := s.post(t, "/api/v1/devices/enrollments", nil, bearer(accessToken)...)
	expect(t, r, http.StatusCreated)
	d := &testDevice{Pushes: make(chan authenticator.PushRequest, 16)}
	pushURL := ""
	var receiver *authenticator.PushReceiver
	if withPush {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d.failPushes.Load() {
				http.Error(w, "broken", http.StatusInternalServerError)
				return
			}
			receiver.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		pushURL = srv.URL + "/push"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := authenticator.Enroll(ctx, s.URL, r.str("enrollment_code"), "Test phone", pushURL)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	d.State, d.Client = st, authenticator.NewClient(st)
	receiver = authenticator.PushHandler(st, func(p authenticator.PushRequest) { d.Pushes <- p })
	return d
}

func (d *testDevice) nextPush(t *testing.T) authenticator.PushRequest {
	t.Helper()
	select {
	case p := <-d.Pushes:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no push arrived in 10 s")
		return authenticator.PushRequest{}
	}
}

func (d *testDevice) decide(t *testing.T, approvalID string, approve bool, number int, report bool) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n *int
	if approve {
		n = &number
	}
	return d.Client.Decide(ctx, approvalID, approve, n, report)
}

// pushLogin is a started login: the 202 body's fields.
type pushLogin struct {
	ID, Ticket, Channel string
	Number              int
}

func (s *testServer) startLogin(t *testing.T, u testUser) pushLogin {
	t.Helper()
	r := s.post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	expect(t, r, http.StatusAccepted)
	n, _ := r.Body["match_number"].(float64)
	if r.str("websocket_url") != "/api/v1/approvals/"+r.str("approval_id")+"/ws" || r.str("expires_at") == "" {
		t.Fatalf("login body %s", r.Raw)
	}
	return pushLogin{ID: r.str("approval_id"), Ticket: r.str("ticket"), Channel: r.str("channel"), Number: int(n)}
}

// wsClient is a browser's websocket on an approval.
type wsClient struct {
	conn   *websocket.Conn
	frames chan map[string]any
	closed chan int // the close code
}

func (s *testServer) dialWS(t *testing.T, id, ticket, origin string) (*wsClient, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/approvals/" + id + "/ws?ticket=" + ticket
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(u, h)
	if err != nil {
		return nil, res, err
	}
	c := &wsClient{conn: conn, frames: make(chan map[string]any, 16), closed: make(chan int, 1)}
	go func() {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				code := -1
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				c.closed <- code
				close(c.frames)
				return
			}
			var f map[string]any
			_ = json.Unmarshal(msg, &f)
			c.frames <- f
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c, res, nil
}

func (s *testServer) mustWS(t *testing.T, l pushLogin) *wsClient {
	t.Helper()
	c, res, err := s.dialWS(t, l.ID, l.Ticket, s.URL)
	if err != nil {
		t.Fatalf("websocket: %v (%v)", err, res)
	}
	return c
}

func (c *wsClient) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			t.Fatal("websocket closed while a frame was expected")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no websocket frame in 10 s")
		return nil
	}
}

// expectFrame reads the next frame and checks its fields.
func (c *wsClient) expectFrame(t *testing.T, want map[string]any) {
	t.Helper()
	f := c.next(t)
	for k, v := range want {
		if f[k] != v {
			t.Fatalf("frame %v, want %v", f, want)
		}
	}
}

// expectClose waits for the server's close and checks its code.
func (c *wsClient) expectClose(t *testing.T, code int) {
	t.Helper()
	for {
		select {
		case f, ok := <-c.frames:
			if ok {
				t.Fatalf("unexpected frame before close: %v", f)
			}
		case got := <-c.closed:
			if got != code {
				t.Fatalf("close code %d, want %d", got, code)
			}
			return
		case <-time.After(10 * time.Second):
			t.Fatal("websocket not closed in 10 s")
		}
	}
}
