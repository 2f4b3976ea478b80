package browsertest

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/e2e"
)

// traffic counts the page's websocket handshakes and approval polls.
type traffic struct {
	handshakes atomic.Int32 // websocket upgrades that got an answer
	polls      atomic.Int32 // GET /api/v1/approvals/{id}
}

func (b *browser) watchTraffic() *traffic {
	tr := &traffic{}
	handshakes := chromedp.Events(b.ctx, network.WebSocketHandshakeResponseReceived)
	requests := chromedp.Events(b.ctx, network.RequestWillBeSent)
	go func() {
		for _, err := range handshakes {
			if err != nil {
				return
			}
			tr.handshakes.Add(1)
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			if ev.Request.Method == "GET" && strings.Contains(ev.Request.URL, "/api/v1/approvals/") {
				tr.polls.Add(1)
			}
		}
	}()
	return tr
}

func TestPollingWhenWebsocketsAreBlocked(t *testing.T) {
	t.Parallel()
	// As a proxy that cannot pass websockets: every upgrade gets 502.
	proxy := newProxy(t, true)
	e := startSite(t, "PUBLIC_URL="+proxy.URL())
	go proxy.serve(e.Addr)
	e.URL = proxy.URL() // the test's own calls and the phone's go through the proxy too
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, proxy.URL())
	tr := b.watchTraffic()

	b.logIn(u)
	b.waitStatus("pending")
	n := b.matchNumber()
	e2e.Eventually(t, "a poll of the approval", func() bool { return tr.polls.Load() > 0 })
	phone.MustDecide(t, phone.NextPush(t).ApprovalID, true, n, false)
	b.expectAccount(u)
	if got := tr.handshakes.Load(); got != 0 {
		t.Errorf("%d websocket handshakes got through the proxy", got)
	}
	if proxy.refused.Load() == 0 {
		t.Error("the page never tried a websocket")
	}
}

// proxy forwards TCP connections to approvald, as a load balancer would:
// it can cut them all at once, and can refuse websocket upgrades.
type proxy struct {
	ln           net.Listener
	noWebsockets bool
	refused      atomic.Int32 // websocket upgrades answered 502

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newProxy(t *testing.T, noWebsockets bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, noWebsockets: noWebsockets, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.dropAll() })
	return p
}

func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

// serve forwards to backend (host:port) until the listener closes.
func (p *proxy) serve(backend string) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c, backend)
	}
}

func (p *proxy) forward(c net.Conn, backend string) {
	defer c.Close()
	// Browsers open a connection of its own for each websocket, so its
	// first request line tells an upgrade apart.
	r := bufio.NewReader(c)
	first, err := r.ReadSlice('\n')
	if err != nil {
		return
	}
	if p.noWebsockets && strings.HasPrefix(string(first), "GET ") && strings.Contains(string(first), "/ws?") {
		p.refused.Add(1)
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	s, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer s.Close()
	p.track(c, s, true)
	defer p.track(c, s, false)
	if _, err := s.Write(first); err != nil {
		return
	}
	go func() { _, _ = io.Copy(s, r); s.Close() }()
	_, _ = io.Copy(c, s)
}

func (p *proxy) track(c, s net.Conn, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if open {
		p.conns[c], p.conns[s] = true, true
	} else {
		delete(p.conns, c)
		delete(p.conns, s)
	}
}

func (p *proxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func TestWebsocketReconnects(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, false)
	e := startSite(t, "PUBLIC_URL="+proxy.URL())
	go proxy.serve(e.Addr)
	e.URL = proxy.URL() // the test's own calls and the phone's go through the proxy too
	u, phone := userWithPhone(t, e)
	b := openBrowser(t, proxy.URL())
	tr := b.watchTraffic()

	b.logIn(u)
	b.waitStatus("pending")
	n := b.matchNumber()
	e2e.Eventually(t, "the websocket", func() bool { return tr.handshakes.Load() == 1 })
	proxy.dropAll() // the websocket (and every keep-alive connection) is cut
	e2e.Eventually(t, "the websocket to reconnect", func() bool { return tr.handshakes.Load() == 2 })
	phone.MustDecide(t, phone.NextPush(t).ApprovalID, true, n, false)
	b.expectAccount(u)
	if got := tr.polls.Load(); got != 0 {
		t.Errorf("the page polled %d times; one drop should only reconnect", got)
	}
}
