package authenticator

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/signing"
)

// The device websocket (GET /api/v1/devices/{id}/ws): the server sends what
// is pending on connect, each new approval offered to the device (the push
// body, signed by the server), each change of one, and the device's removal.

// wsSignMethod is the method of the canonical string the server signs an
// approval frame with: "WS", never an HTTP method.
const wsSignMethod = "WS"

// ErrDeviceRemoved: the server removed this device; do not reconnect.
var ErrDeviceRemoved = errors.New("this device was removed from its account")

// SocketEvent is one thing the device websocket told.
type SocketEvent struct {
	// Pending is set on a "pending" frame: everything the device may
	// decide now (on connect, and after the server's broker came back).
	Pending []PushRequest
	// Push is set on a new approval, verified as a push is.
	Push *PushRequest
	// Changed is set on a change of an approval: its id and new status
	// ("approved", "denied", "expired", or "pending" with a new expiry).
	Changed *ApprovalChange
	// IsPending is true for a "pending" frame (Pending may be empty).
	IsPending bool
}

// ApprovalChange is a "status" frame.
type ApprovalChange struct {
	ApprovalID string     `json:"approval_id"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

// WSTicket asks for a ticket that opens this device's websocket once.
func (c *Client) WSTicket(ctx context.Context) (string, error) {
	var answer struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}
	path := "/api/v1/devices/" + url.PathEscape(c.State.DeviceID) + "/ws-ticket"
	if err := c.signed(ctx, http.MethodPost, path, nil, &answer); err != nil {
		return "", err
	}
	if answer.Ticket == "" {
		return "", errors.New("the server answered no ticket")
	}
	return answer.Ticket, nil
}

// Socket is an open device websocket. Read it from one goroutine.
type Socket struct {
	conn   *websocket.Conn
	state  *State
	nonces *PushReceiver // its replay memory and clock
}

// wsPath is the device websocket's path after the server's base URL.
func wsPath(deviceID string) string { return "/api/v1/devices/" + url.PathEscape(deviceID) + "/ws" }

// DialSocket gets a ticket and opens the device websocket.
func (c *Client) DialSocket(ctx context.Context) (*Socket, error) {
	ticket, err := c.WSTicket(ctx)
	if err != nil {
		return nil, err
	}
	return c.DialSocketWithTicket(ctx, ticket)
}

// DialSocketWithTicket opens the device websocket with ticket.
func (c *Client) DialSocketWithTicket(ctx context.Context, ticket string) (*Socket, error) {
	u, err := url.Parse(c.State.Server + wsPath(c.State.DeviceID))
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.RawQuery = "ticket=" + url.QueryEscape(ticket)
	d := websocket.Dialer{HandshakeTimeout: DefaultTimeout}
	conn, res, err := d.DialContext(ctx, u.String(), http.Header{"User-Agent": {"approvald-authenticator/1"}})
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("opening the device websocket: %s", res.Status)
		}
		return nil, fmt.Errorf("opening the device websocket: %w", err)
	}
	conn.SetReadLimit(maxPushBody * 16)
	// Answer the server's pings (the default handler does) and see a dead
	// server within two ping periods.
	_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
	})
	return &Socket{conn: conn, state: c.State, nonces: &PushReceiver{State: c.State, Now: c.Now}}, nil
}

// Close closes the websocket.
func (s *Socket) Close() error { return s.conn.Close() }

// Next waits for the next event. ErrDeviceRemoved ends the socket for good;
// any other error means reconnect (with a new ticket) and re-read.
// A frame that does not verify is skipped, and told to rejected when set.
func (s *Socket) Next(rejected func(error)) (SocketEvent, error) {
	for {
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Text == "device_removed" {
				return SocketEvent{}, ErrDeviceRemoved
			}
			return SocketEvent{}, err
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		var f struct {
			Type      string        `json:"type"`
			Approvals []PushRequest `json:"approvals"`
			Body      string        `json:"body"`
			Timestamp string        `json:"timestamp"`
			Nonce     string        `json:"nonce"`
			Signature string        `json:"signature"`
			KeyID     string        `json:"kid"`
		}
		if err := json.Unmarshal(msg, &f); err != nil {
			continue
		}
		switch f.Type {
		case "pending":
			return SocketEvent{IsPending: true, Pending: f.Approvals}, nil
		case "approval":
			p, err := s.verify(f.Body, f.KeyID, signing.Headers{Timestamp: f.Timestamp, Nonce: f.Nonce, Signature: f.Signature})
			if err != nil {
				if rejected != nil {
					rejected(err)
				}
				continue
			}
			return SocketEvent{Push: p}, nil
		case "status":
			var ch ApprovalChange
			if json.Unmarshal(msg, &ch) != nil || ch.ApprovalID == "" {
				continue
			}
			return SocketEvent{Changed: &ch}, nil
		case "device_removed":
			_ = s.conn.Close()
			return SocketEvent{}, ErrDeviceRemoved
		}
	}
}

// verify checks an approval frame as PushReceiver checks a push: the
// server's signature (method WS over the websocket's path), the clock, the
// addressee, the callback and the nonce.
func (s *Socket) verify(body, kid string, h signing.Headers) (*PushRequest, error) {
	prefix := ""
	if u, err := url.Parse(s.state.Server); err == nil {
		prefix = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	// The pin, or during a push key rotation the pin before it; the frame's
	// kid, when it has one, says which.
	pin, previous := s.state.serverKeys()
	signed := false
	for _, k := range []ed25519.PublicKey{pin, previous} {
		if k == nil || (kid != "" && signing.KeyID(k) != kid) {
			continue
		}
		if signing.Verify(k, wsSignMethod, prefix+wsPath(s.state.DeviceID), h, []byte(body)) == nil {
			signed = true
			break
		}
	}
	if !signed {
		return nil, ErrPushSignature
	}
	now := s.nonces.now()
	if signing.CheckTimestamp(h.Timestamp, now, signing.MaxSkew) != nil {
		return nil, ErrPushTimestamp
	}
	var p PushRequest
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.ApprovalID == "" {
		return nil, ErrPushBody
	}
	if p.DeviceID != s.state.DeviceID {
		return nil, ErrPushDevice
	}
	if p.CallbackURL != s.state.CallbackURL() {
		return nil, ErrPushCallbackURL
	}
	if !s.nonces.firstUse(h.Nonce, now) {
		return nil, ErrPushReplayed
	}
	return &p, nil
}
