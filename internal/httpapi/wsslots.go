package httpapi

import (
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/approvald/approvald/internal/core"
)

// WebsocketLimits bound the approval websockets open on this instance.
// They bound this process's connections, goroutines and memory, so they
// are counted in process, not shared through Redis.
type WebsocketLimits struct {
	Total       int // all websockets (MAX_WEBSOCKETS)
	PerApproval int // on one approval (LIMIT_WEBSOCKETS_PER_APPROVAL): a browser needs one, a reconnecting one briefly two
	PerIP       int // from one client (LIMIT_WEBSOCKETS_PER_IP), counted per core.Client.LimitKey
}

// DefaultWebsocketLimits are the documented defaults. An idle websocket
// costs some memory (BENCHMARKS.md measures it) and a file descriptor: a
// Total of 50,000 is room for the load the benchmark runs five times over,
// while a flood of upgrades stops there instead of at the memory or
// descriptor limit, where every other request would fail too.
func DefaultWebsocketLimits() WebsocketLimits {
	return WebsocketLimits{Total: 50000, PerApproval: 4, PerIP: 20}
}

// wsRetryAfter is the Retry-After of a refused upgrade: a slot frees when
// some websocket ends, which the refused client cannot see.
const wsRetryAfter = 5 * time.Second

// wsSlot is one websocket's share of the counts, held from the gate (before
// the upgrade) to the end of the websocket, so that simultaneous upgrades
// cannot all pass a check that counts only websockets already open.
type wsSlot struct {
	approvalID string
	ipKey      string // "" when the client address is unknown: not counted per IP
}

// wsSlots counts the websockets open, and being opened, on this instance.
type wsSlots struct {
	limits WebsocketLimits

	mu          sync.Mutex
	total       int
	perApproval map[string]int
	perIP       map[string]int
	// handedOver: slots of upgrades answered 101 whose connection fasthttp
	// has not yet given to the websocket handler. It never does when the
	// 101 cannot be written: it closes the connection instead, and
	// connClosed releases the slot.
	handedOver map[net.Conn]*wsSlot
}

func newWSSlots(l WebsocketLimits) *wsSlots {
	return &wsSlots{limits: l, perApproval: map[string]int{}, perIP: map[string]int{}, handedOver: map[net.Conn]*wsSlot{}}
}

// reserve takes a slot for a websocket on approvalID from the client of
// ipKey, or answers 429 when a limit is reached.
func (s *wsSlots) reserve(approvalID, ipKey string) (*wsSlot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.limits.Total || s.perApproval[approvalID] >= s.limits.PerApproval ||
		(ipKey != "" && s.perIP[ipKey] >= s.limits.PerIP) {
		return nil, core.RateLimited(wsRetryAfter)
	}
	s.total++
	s.perApproval[approvalID]++
	if ipKey != "" {
		s.perIP[ipKey]++
	}
	return &wsSlot{approvalID: approvalID, ipKey: ipKey}, nil
}

// release gives a slot back; entries that reach zero go, so the maps hold
// only approvals and clients with a websocket.
func (s *wsSlots) release(slot *wsSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	decrement(s.perApproval, slot.approvalID)
	if slot.ipKey != "" {
		decrement(s.perIP, slot.ipKey)
	}
}

func decrement(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}

// handOver notes that conn's upgrade was answered and that slot now waits
// for the websocket handler (taken) or the connection's close (connClosed).
func (s *wsSlots) handOver(conn net.Conn, slot *wsSlot) {
	s.mu.Lock()
	s.handedOver[conn] = slot
	s.mu.Unlock()
}

// taken: the websocket handler runs on conn and releases the slot itself.
func (s *wsSlots) taken(conn net.Conn) {
	s.mu.Lock()
	delete(s.handedOver, conn)
	s.mu.Unlock()
}

// watch has srv report its connections' states to connClosed (it is the
// server's one ConnState hook), and leave hijacked connections open when
// their handler returns: an approval websocket outlives it (upgradeWS).
func (s *wsSlots) watch(srv *fasthttp.Server) {
	srv.ConnState = s.connClosed
	srv.KeepHijackedConns = true
}

// connClosed is the server's ConnState hook. fasthttp closes a connection
// (StateClosed) instead of hijacking it when the 101 cannot be written; a
// hijacked connection (StateHijacked) always reaches the handler.
func (s *wsSlots) connClosed(conn net.Conn, state fasthttp.ConnState) {
	if state != fasthttp.StateClosed {
		return
	}
	s.mu.Lock()
	slot, ok := s.handedOver[conn]
	delete(s.handedOver, conn)
	s.mu.Unlock()
	if ok {
		s.release(slot)
	}
}

// counts is the number of slots held in all, on approvalID and by ipKey.
func (s *wsSlots) counts(approvalID, ipKey string) (total, perApproval, perIP int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, s.perApproval[approvalID], s.perIP[ipKey]
}
