package redis_test

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// proxy stands between a client and Redis so a test can take Redis away:
// blackhole cuts every connection and leaves new ones unanswered (a
// server that hangs), heal forwards again.
type proxy struct {
	ln     net.Listener
	target string
	delay  time.Duration // added to everything a client sends

	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

func newProxy(t testing.TB, target string) *proxy { return newSlowProxy(t, target, 0) }

// newSlowProxy delays what clients send by delay, as a distant Redis would.
func newSlowProxy(t testing.TB, target string, delay time.Duration) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, delay: delay}
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	go p.accept()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, in)
		dead := p.dead
		p.mu.Unlock()
		if dead {
			continue // hold it open, answer nothing
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, out)
		p.mu.Unlock()
		go pipe(out, in, p.delay)
		go pipe(in, out, 0)
	}
}

func pipe(dst, src net.Conn, delay time.Duration) {
	defer dst.Close()
	defer src.Close()
	if delay == 0 {
		_, _ = io.Copy(dst, src)
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			time.Sleep(delay)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) blackhole() {
	p.mu.Lock()
	p.dead = true
	p.mu.Unlock()
	p.cut()
}

// heal forwards again and drops the unanswered connections, so clients
// dial afresh.
func (p *proxy) heal() {
	p.mu.Lock()
	p.dead = false
	held := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range held {
		_ = c.Close()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
