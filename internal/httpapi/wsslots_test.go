package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/clientip"
	"github.com/approvald/approvald/internal/core"
)

func TestWSSlotsLimits(t *testing.T) {
	s := newWSSlots(WebsocketLimits{Total: 4, PerApproval: 2, PerIP: 2})
	mustReserve := func(approvalID, ip string) *wsSlot {
		t.Helper()
		slot, err := s.reserve(approvalID, ip)
		if err != nil {
			t.Fatalf("reserve(%s, %s): %v", approvalID, ip, err)
		}
		return slot
	}
	refused := func(approvalID, ip string) {
		t.Helper()
		var ce *core.Error
		if _, err := s.reserve(approvalID, ip); !errors.As(err, &ce) || ce.Code != core.ERateLimited || ce.RetryAfter <= 0 {
			t.Fatalf("reserve(%s, %s) = %v, want rate_limited with a retry time", approvalID, ip, err)
		}
	}
	a1 := mustReserve("apr_a", "192.0.2.1")
	mustReserve("apr_a", "192.0.2.2")
	refused("apr_a", "192.0.2.3") // per approval
	b1 := mustReserve("apr_b", "192.0.2.1")
	refused("apr_c", "192.0.2.1") // per IP
	mustReserve("apr_c", "192.0.2.3")
	refused("apr_d", "192.0.2.9") // in all
	s.release(a1)
	mustReserve("apr_d", "") // an unknown address counts in all only
	refused("apr_e", "")
	s.release(b1)
	if total, onB, byIP := s.counts("apr_b", "192.0.2.1"); total != 3 || onB != 0 || byIP != 0 {
		t.Fatalf("after releases: total %d, on apr_b %d, by 192.0.2.1 %d", total, onB, byIP)
	}
	if len(s.perApproval) != 3 || len(s.perIP) != 2 {
		t.Fatalf("maps keep released entries: %v %v", s.perApproval, s.perIP)
	}
	mustReserve("apr_b", "192.0.2.1")
}

// noWrites is a connection whose peer is gone: every write fails.
type noWrites struct{ net.Conn }

func (noWrites) Write([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

type noWritesListener struct{ net.Listener }

func (l noWritesListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &noWrites{c}, nil
}

// When the 101 cannot be written, fasthttp closes the connection and never
// runs the websocket handler: the slot must come back all the same.
func TestWSSlotFreedWhenThe101CannotBeWritten(t *testing.T) {
	slots := newWSSlots(WebsocketLimits{Total: 1, PerApproval: 1, PerIP: 1})
	const origin = "http://login.test"
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	slots.watch(app.Server())
	closed := make(chan struct{}, 1)
	watched := app.Server().ConnState
	app.Server().ConnState = func(c net.Conn, st fasthttp.ConnState) {
		watched(c, st)
		if st == fasthttp.StateClosed {
			closed <- struct{}{}
		}
	}
	app.Get("/ws", func(c *fiber.Ctx) error {
		slot, err := slots.reserve("apr_x", "192.0.2.1")
		if err != nil {
			return err
		}
		c.Locals(wsSlotKey, slot)
		return c.Next()
	}, upgradeWS([]string{origin}, slots, slog.New(slog.NewTextHandler(io.Discard, nil)), 256, func(*websocket.Conn, string, func()) bool {
		t.Error("the websocket handler ran on a connection whose 101 was never written")
		return false
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(noWritesListener{ln}) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: login.test\r\nOrigin: "+origin+"\r\n"+
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not close the connection in 10 s")
	}
	if total, onX, byIP := slots.counts("apr_x", "192.0.2.1"); total != 0 || onX != 0 || byIP != 0 || len(slots.handedOver) != 0 {
		t.Fatalf("after the closed upgrade: total %d, on the approval %d, by the IP %d, handed over %d", total, onX, byIP, len(slots.handedOver))
	}
}

// oneApproval is a store that knows one approval (ByTicket reads nothing else).
type oneApproval struct {
	core.ApprovalStore
	a *core.Approval
}

func (s oneApproval) Approval(_ context.Context, id string) (*core.Approval, error) {
	if id != s.a.ID {
		return nil, core.Errorf(core.ENotFound, "no such approval")
	}
	return s.a, nil
}

// The gate counts an admitted upgrade before it is upgraded. A barrier
// behind the gate holds every admitted upgrade until the gate has decided
// all forty, the widest window simultaneous upgrades can open: a gate that
// counted only websockets already open would admit all forty.
func TestWSGateCountsUpgradesNotYetOpen(t *testing.T) {
	const limit, tries, origin = 4, 40, "http://login.test"
	a := &core.Approval{ID: core.NewID(core.PrefixApproval), TicketHash: approval.HashTicket("the-ticket")}
	approvals := &approval.Service{Deps: approval.Deps{Approvals: oneApproval{a: a}}}
	slots := newWSSlots(WebsocketLimits{Total: 1000, PerApproval: limit, PerIP: 1000})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	var mu sync.Mutex
	decided := 0
	allDecided := make(chan struct{})
	decide := func() {
		mu.Lock()
		defer mu.Unlock()
		if decided++; decided == tries {
			close(allDecided)
		}
	}
	gate := wsGate(approvals, slots, []string{origin})
	hold := make(chan struct{}) // the websockets end with the test

	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: errorHandler(log)})
	slots.watch(app.Server())
	app.Use(withRequestContext(15*time.Second, clientip.New(nil)))
	app.Get("/api/v1/approvals/:id/ws",
		func(c *fiber.Ctx) error {
			err := gate(c) // refused: decided here; admitted: at the barrier
			if err != nil {
				decide()
			}
			return err
		},
		func(c *fiber.Ctx) error {
			decide()
			<-allDecided
			return c.Next()
		},
		upgradeWS([]string{origin}, slots, log, 256, func(*websocket.Conn, string, func()) bool { <-hold; return false }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer func() {
		close(hold)
		_ = app.Shutdown()
	}()

	url := "ws://" + ln.Addr().String() + "/api/v1/approvals/" + a.ID + "/ws?ticket=the-ticket"
	statuses := make(chan int, tries)
	var wg sync.WaitGroup
	for range tries {
		wg.Go(func() {
			d := websocket.Dialer{HandshakeTimeout: 60 * time.Second}
			conn, res, err := d.Dial(url, http.Header{"Origin": {origin}})
			switch {
			case err == nil:
				t.Cleanup(func() { conn.Close() })
				statuses <- http.StatusSwitchingProtocols
			case res != nil:
				statuses <- res.StatusCode
			default:
				t.Errorf("dial: %v", err)
			}
		})
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for st := range statuses {
		got[st]++
	}
	if got[http.StatusSwitchingProtocols] != limit || got[http.StatusTooManyRequests] != tries-limit {
		t.Fatalf("%d upgrades held behind the gate: statuses %v, want %d × 101 and %d × 429", tries, got, limit, tries-limit)
	}
	if total, onA, _ := slots.counts(a.ID, ""); total != limit || onA != limit {
		t.Fatalf("slots held: %d in all, %d on the approval; want %d", total, onA, limit)
	}
}
