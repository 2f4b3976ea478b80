package httpapi

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// wsPoller tells waiting websockets that their connection has bytes to
// read, from one goroutine for the whole process (epoll): a goroutine
// parked in a read per waiting browser would cost its stack, most of the
// memory of a browser that waits (BENCHMARKS.md).
type wsPoller struct {
	epfd   int
	broken atomic.Bool // epoll_wait failed: new websockets read with a goroutine

	mu      sync.Mutex
	next    uint64
	watched map[uint64]func() // by id, not fd: a closed connection's fd number is reused
}

var (
	pollerOnce   sync.Once
	sharedPoller *wsPoller
)

// theWSPoller is the process's poller, nil when epoll is unavailable.
func theWSPoller() *wsPoller {
	pollerOnce.Do(func() {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		sharedPoller = &wsPoller{epfd: fd, watched: map[uint64]func(){}}
		go sharedPoller.loop()
	})
	return sharedPoller
}

// wsReadable is a connection watched by the poller.
type wsReadable struct {
	p  *wsPoller
	id uint64
	rc syscall.RawConn
}

// errWouldBlock: nothing to read now.
var errWouldBlock = errors.New("nothing to read")

// watch calls readable, on a goroutine of its own, once conn has bytes to
// read or was hung up; then not again until rearm. nil, false when conn
// has no descriptor of its own (the caller reads with a goroutine then).
func (p *wsPoller) watch(conn net.Conn, readable func()) (*wsReadable, bool) {
	sc, ok := conn.(syscall.Conn)
	if p == nil || !ok || p.broken.Load() {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	p.mu.Lock()
	p.next++
	r := &wsReadable{p: p, id: p.next, rc: rc}
	p.watched[r.id] = readable
	p.mu.Unlock()
	if err := r.ctl(syscall.EPOLL_CTL_ADD); err != nil {
		r.forget()
		return nil, false
	}
	return r, true
}

// pollEvents: one report per arming (EPOLLONESHOT), so that a connection
// is read by one goroutine at a time.
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func (r *wsReadable) ctl(op int) error {
	ev := syscall.EpollEvent{Events: pollEvents}
	// The id fills the event's 8 bytes of user data (Fd and Pad).
	ev.Fd, ev.Pad = int32(uint32(r.id)), int32(uint32(r.id>>32))
	var err error
	if cerr := r.rc.Control(func(fd uintptr) { err = syscall.EpollCtl(r.p.epfd, op, int(fd), &ev) }); cerr != nil {
		return cerr
	}
	return err
}

// rearm asks for the next report, once a read found nothing (a byte that
// arrived meanwhile is reported at once).
func (r *wsReadable) rearm() error { return r.ctl(syscall.EPOLL_CTL_MOD) }

// stop forgets the connection; call it before closing the connection.
func (r *wsReadable) stop() {
	_ = r.ctl(syscall.EPOLL_CTL_DEL)
	r.forget()
}

func (r *wsReadable) forget() {
	r.p.mu.Lock()
	delete(r.p.watched, r.id)
	r.p.mu.Unlock()
}

// read reads what has arrived without waiting: errWouldBlock when nothing
// has, io.EOF once the browser hung up.
func (r *wsReadable) read(b []byte) (int, error) {
	var n int
	var err error
	if rerr := r.rc.Read(func(fd uintptr) bool {
		for {
			n, err = syscall.Read(int(fd), b)
			if err != syscall.EINTR {
				return true // never wait in the runtime's poller
			}
		}
	}); rerr != nil {
		return 0, rerr
	}
	switch {
	case err == syscall.EAGAIN:
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (p *wsPoller) loop() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			// A bad descriptor, which cannot heal: the websockets it
			// watched end at their pong deadline and reconnect to
			// readers of their own.
			p.broken.Store(true)
			return
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if readable := p.watched[id]; readable != nil {
				go readable()
			}
		}
		p.mu.Unlock()
	}
}
