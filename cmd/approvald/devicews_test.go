package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/signing"
)

// socketEvents reads a device websocket into a channel; the last item
// carries the error that ended it.
type socketEvent struct {
	ev  authenticator.SocketEvent
	err error
}

func openDeviceSocket(t *testing.T, dev *e2e.Device) <-chan socketEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sock, err := dev.Client.DialSocket(ctx)
	if err != nil {
		t.Fatalf("device websocket: %v", err)
	}
	t.Cleanup(func() { _ = sock.Close() })
	out := make(chan socketEvent, 16)
	go func() {
		for {
			ev, err := sock.Next(func(err error) { t.Errorf("a frame from the server was refused: %v", err) })
			out <- socketEvent{ev, err}
			if err != nil {
				close(out)
				return
			}
		}
	}()
	return out
}

func nextSocketEvent(t *testing.T, events <-chan socketEvent) socketEvent {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatal("the device websocket ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no frame on the device websocket in 10 s")
	}
	return socketEvent{}
}

func TestDeviceWebsocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		u := s.SignUp(t)
		at := s.LoginSMS(t, u).Str("access_token")
		dev := s.EnrollDevice(t, at, false)
		other := s.EnrollDevice(t, s.LoginSMS(t, s.SignUp(t)).Str("access_token"), false)
		ctx := context.Background()

		t.Run("ticket refused", func(t *testing.T) {
			path := "/api/v1/devices/" + dev.State.DeviceID + "/ws-ticket"
			e2e.Expect(t, s.Post(t, path, nil), http.StatusUnauthorized, "invalid_signature")
			// Signed by another device, for this one's path.
			h := signing.Sign(other.State.PrivateKey, "POST", path, other.State.DeviceID, nil, time.Now())
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "POST", Path: path, Headers: headerMap(h)}), http.StatusUnauthorized, "invalid_signature")
			// Replayed: the same signed request twice.
			h = signing.Sign(dev.State.PrivateKey, "POST", path, dev.State.DeviceID, nil, time.Now())
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "POST", Path: path, Headers: headerMap(h)}), http.StatusCreated)
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "POST", Path: path, Headers: headerMap(h)}), http.StatusUnauthorized, "invalid_signature")
		})

		t.Run("websocket refused", func(t *testing.T) {
			ticket, err := dev.Client.WSTicket(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Another device's ticket, on that device's path.
			if _, err := other.Client.DialSocketWithTicket(ctx, ticket); err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("another device's ticket: %v", err)
			}
			// Refused there, it still opens its own device's websocket once.
			sock, err := dev.Client.DialSocketWithTicket(ctx, ticket)
			if err != nil {
				t.Fatal(err)
			}
			_ = sock.Close()
			if _, err := dev.Client.DialSocketWithTicket(ctx, ticket); err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("a ticket used twice: %v", err)
			}
			if _, err := dev.Client.DialSocketWithTicket(ctx, "made-up"); err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("a made-up ticket: %v", err)
			}
			// A foreign Origin: only none or PUBLIC_URL's.
			if ticket, err = dev.Client.WSTicket(ctx); err != nil {
				t.Fatal(err)
			}
			wsURL := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/devices/" + dev.State.DeviceID + "/ws?ticket=" + ticket
			req, _ := http.NewRequest("GET", strings.Replace(wsURL, "ws", "http", 1), nil)
			req.Header = http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
				"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Origin": {"https://evil.example"}}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("a foreign origin: %d", res.StatusCode)
			}
			// PUBLIC_URL's own origin (the web authenticator page) is let in.
			if ticket, err = dev.Client.WSTicket(ctx); err != nil {
				t.Fatal(err)
			}
			d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
			conn, res, err := d.Dial(strings.Replace(wsURL, wsURL[strings.Index(wsURL, "ticket="):], "ticket="+ticket, 1), http.Header{"Origin": {s.PublicURL}})
			if err != nil {
				t.Fatalf("from PUBLIC_URL's origin %s: %v %v", s.PublicURL, err, res)
			}
			_ = conn.Close()
		})

		t.Run("approvals and changes at once", func(t *testing.T) {
			events := openDeviceSocket(t, dev)
			if e := nextSocketEvent(t, events); e.err != nil || !e.ev.IsPending || len(e.ev.Pending) != 0 {
				t.Fatalf("first frame %+v", e)
			}
			l := s.StartLogin(t, u)
			e := nextSocketEvent(t, events)
			if e.err != nil || e.ev.Push == nil || e.ev.Push.ApprovalID != l.ID || e.ev.Push.DeviceID != dev.State.DeviceID {
				t.Fatalf("after the login: %+v", e)
			}
			// A second websocket opened now hears the approval as pending.
			second := openDeviceSocket(t, dev)
			if e := nextSocketEvent(t, second); !e.ev.IsPending || len(e.ev.Pending) != 1 || e.ev.Pending[0].ApprovalID != l.ID {
				t.Fatalf("on connect: %+v", e)
			}
			dev.MustDecide(t, l.ID, true, l.Number, false)
			for _, ch := range []<-chan socketEvent{events, second} {
				e := nextSocketEvent(t, ch)
				if e.ev.Changed == nil || e.ev.Changed.ApprovalID != l.ID || e.ev.Changed.Status != "approved" {
					t.Fatalf("after the approval: %+v", e)
				}
			}
			// A login superseded by the next: denied, superseded; then the new one.
			l1 := s.StartLogin(t, u)
			_ = nextSocketEvent(t, events)
			l2 := s.StartLogin(t, u)
			e = nextSocketEvent(t, events)
			if e.ev.Changed == nil || e.ev.Changed.ApprovalID != l1.ID || e.ev.Changed.Status != "denied" || e.ev.Changed.Reason != "superseded" {
				t.Fatalf("superseded: %+v", e)
			}
			if e = nextSocketEvent(t, events); e.ev.Push == nil || e.ev.Push.ApprovalID != l2.ID {
				t.Fatalf("the newer login: %+v", e)
			}
		})

		t.Run("removal closes it", func(t *testing.T) {
			events := openDeviceSocket(t, dev)
			_ = nextSocketEvent(t, events)
			e2e.Expect(t, s.Do(t, e2e.Request{Method: "DELETE", Path: "/api/v1/devices/" + dev.State.DeviceID, Headers: e2e.Pairs(e2e.Bearer(at))}), http.StatusNoContent)
			for {
				e := nextSocketEvent(t, events)
				if e.err != nil {
					if !errors.Is(e.err, authenticator.ErrDeviceRemoved) {
						t.Fatalf("ended with %v", e.err)
					}
					break
				}
			}
			if _, err := dev.Client.WSTicket(ctx); err == nil {
				t.Fatal("a removed device got a ticket")
			}
		})
	})
}

// headerMap is signature headers as e2e.Request takes them.
func headerMap(h signing.Headers) map[string]string {
	hh := http.Header{}
	h.Apply(hh)
	m := map[string]string{}
	for k := range hh {
		m[k] = hh.Get(k)
	}
	return m
}

// Two instances on one database and Redis: a ticket issued by B opens the
// websocket on A (the KV is shared), and what B publishes for the device (a
// login started there, its decision there) reaches A's websocket through
// the broker.
func TestTwoInstancesShareDeviceFrames(t *testing.T) {
	a := startProcess(t, e2e.Postgres, map[string]string{"PUBLIC_URL": sharedPublicURL})
	b := sibling(t, a)
	u, dev := a.UserWithDevice(t, false)
	dev.State.Server = b.URL
	ticket, err := dev.Client.WSTicket(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial("ws"+strings.TrimPrefix(a.URL, "http")+"/api/v1/devices/"+dev.State.DeviceID+"/ws?ticket="+ticket, nil)
	if err != nil {
		t.Fatalf("device websocket on A: %v %v", err, res)
	}
	t.Cleanup(func() { _ = conn.Close() })
	next := func() map[string]any {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var f map[string]any
		if err := conn.ReadJSON(&f); err != nil {
			t.Fatalf("reading the device websocket: %v", err)
		}
		return f
	}
	if f := next(); f["type"] != "pending" {
		t.Fatalf("first frame %v", f)
	}
	l := b.StartLogin(t, u)
	f := next()
	if f["type"] != "approval" {
		t.Fatalf("after the login on B: %v", f)
	}
	body, _ := f["body"].(string)
	h := signing.Headers{Timestamp: f["timestamp"].(string), Nonce: f["nonce"].(string), Signature: f["signature"].(string)}
	if err := signing.Verify(dev.State.ServerPublicKey, "WS", "/api/v1/devices/"+dev.State.DeviceID+"/ws", h, []byte(body)); err != nil {
		t.Fatalf("the approval frame's signature: %v", err)
	}
	if !strings.Contains(body, l.ID) {
		t.Fatalf("approval frame body %s", body)
	}
	dev.MustDecide(t, l.ID, true, l.Number, false)
	if f := next(); f["type"] != "status" || f["approval_id"] != l.ID || f["status"] != "approved" {
		t.Fatalf("after the decision on B: %v", f)
	}
}

// An expired ticket opens nothing: with DEVICE_WS_TICKET_TTL at 1 ns every
// ticket is past its life by the time it is used (no sleep needed).
func TestDeviceWebsocketTicketExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"DEVICE_WS_TICKET_TTL": "1ns"})
		_, dev := s.UserWithDevice(t, false)
		ctx := context.Background()
		ticket, err := dev.Client.WSTicket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dev.Client.DialSocketWithTicket(ctx, ticket); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("an expired ticket: %v", err)
		}
	})
}
