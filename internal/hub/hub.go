// Package hub multiplexes every local waiter on the process's one broker
// subscription: a channel is subscribed while at least one waiter listens
// to it, and each message is fanned out to that channel's waiters.
package hub

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Hub is safe for concurrent use.
type Hub struct {
	sub core.Subscriber
	log *slog.Logger

	mu       sync.Mutex
	channels map[string]*channel
	done     chan struct{}
	joined   uint64 // the last Waiter's seq

	resubscribed atomic.Uint64 // Resubscribed events seen, for metrics
}

// channel is one subscribed broker channel and its local waiters.
type channel struct {
	ready   chan struct{} // closed once the broker confirmed (or refused) the subscription
	err     error
	waiters map[*Waiter]struct{}
	// unsubscribed is set while the last waiter unsubscribes; a new Listen
	// waits for it, so an UNSUBSCRIBE never overtakes a newer SUBSCRIBE.
	unsubscribed chan struct{}
	// echoes are payloads Deliver handed out here whose copy from the
	// broker is still to come; that copy is not handed out again.
	echoes [][]byte
}

// maxEchoes bounds the echoes a channel waits for: a publish that failed
// never comes back, and an approval publishes a few messages at most.
const maxEchoes = 8

// Waiter is one Listener's place on a channel; Close leaves it.
type Waiter struct {
	breakMu sync.Once
	hub     *Hub
	name    string
	seq     uint64 // the order it joined in, for Watch
	closeMu sync.Once
	l       Listener
}

// Listener takes a channel's events by call, for a reader with no goroutine
// to spare for a select: at ten thousand waiting browsers, a goroutine each
// is most of their memory. The hub calls it from its one fan-out goroutine
// in the broker's order, from Deliver's caller, and (Broken) from its broker
// watch; calls may come concurrently and must not block.
type Listener interface {
	// Message is one payload published on the channel.
	Message(payload []byte)
	// Resync says the subscription was restored after the broker's
	// connection was lost: messages may be missing, so the reader must
	// re-read the state it follows.
	Resync()
	// Broken says the broker stopped answering: messages may be lost until
	// it is back, so the reader should give up (and its client reconnect,
	// which re-reads state once the broker answers again). Called at most
	// once.
	Broken()
}

// ErrClosed is returned by Listen after Close.
var ErrClosed = errors.New("hub: closed")

// New starts a hub on the broker's one subscriber.
func New(ctx context.Context, broker core.Broker, log *slog.Logger) (*Hub, error) {
	sub, err := broker.Subscriber(ctx)
	if err != nil {
		return nil, err
	}
	h := &Hub{sub: sub, log: log, channels: map[string]*channel{}, done: make(chan struct{})}
	go h.fanOut()
	return h, nil
}

// Listen subscribes to name (when no local waiter does yet) and returns once
// the broker confirmed the subscription, so nothing published afterwards is
// missed: the caller reads state after Listen returns, then follows what l
// is told. Calls to l may come before Listen returns.
func (h *Hub) Listen(ctx context.Context, name string, l Listener) (*Waiter, error) {
	w := &Waiter{hub: h, name: name, l: l}
	var (
		ch       *channel
		existing bool
	)
	for {
		h.mu.Lock()
		select {
		case <-h.done:
			h.mu.Unlock()
			return nil, ErrClosed
		default:
		}
		ch, existing = h.channels[name]
		if existing && ch.unsubscribed != nil {
			h.mu.Unlock()
			select {
			case <-ch.unsubscribed:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if !existing {
			ch = &channel{ready: make(chan struct{}), waiters: map[*Waiter]struct{}{}}
			h.channels[name] = ch
		}
		h.joined++
		w.seq = h.joined
		ch.waiters[w] = struct{}{}
		h.mu.Unlock()
		break
	}

	if !existing {
		ch.err = h.sub.Subscribe(ctx, name)
		close(ch.ready)
	} else {
		select {
		case <-ch.ready:
		case <-ctx.Done():
			w.Close()
			return nil, ctx.Err()
		}
	}
	if ch.err != nil {
		err := ch.err
		h.drop(w, false)
		if !existing {
			h.forget(name, ch)
		}
		return nil, err
	}
	return w, nil
}

// Close stops following the channel; the last waiter unsubscribes it.
func (w *Waiter) Close() {
	w.closeMu.Do(func() { w.hub.drop(w, true) })
}

func (h *Hub) drop(w *Waiter, unsubscribe bool) {
	h.mu.Lock()
	ch := h.channels[w.name]
	if ch == nil {
		h.mu.Unlock()
		return
	}
	delete(ch.waiters, w)
	last := len(ch.waiters) == 0
	if !last || !unsubscribe {
		if last {
			delete(h.channels, w.name)
		}
		h.mu.Unlock()
		return
	}
	// The creator of a channel is among its waiters until its Subscribe
	// returned, so ready is closed here.
	ch.unsubscribed = make(chan struct{})
	h.mu.Unlock()
	if ch.err == nil {
		if err := h.sub.Unsubscribe(context.Background(), w.name); err != nil {
			h.log.Warn("unsubscribe failed", "err", err)
		}
	}
	h.mu.Lock()
	delete(h.channels, w.name)
	close(ch.unsubscribed)
	h.mu.Unlock()
}

// forget removes a channel whose subscription failed, if still unused.
func (h *Hub) forget(name string, ch *channel) {
	h.mu.Lock()
	if h.channels[name] == ch && len(ch.waiters) == 0 {
		delete(h.channels, name)
	}
	h.mu.Unlock()
}

// Watch pings the broker every interval until ctx ends; when a ping fails,
// every waiter that was there when it was sent is told its channel is
// Broken.
func (h *Hub) Watch(ctx context.Context, broker core.Pinger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-t.C:
		}
		// A ping that fails speaks for the waiters that were there when it
		// was sent: one that joined while it was on its way was subscribed
		// by a broker that answered, after the outage it may report.
		h.mu.Lock()
		before := h.joined
		h.mu.Unlock()
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := broker.Ping(pctx)
		cancel()
		if err == nil {
			continue
		}
		h.log.Warn("broker is not answering; waiters released", "err", err)
		h.mu.Lock()
		var ws []*Waiter
		for _, ch := range h.channels {
			for w := range ch.waiters {
				if w.seq <= before {
					ws = append(ws, w)
				}
			}
		}
		h.mu.Unlock()
		for _, w := range ws {
			w.breakMu.Do(w.l.Broken)
		}
	}
}

// Waiting is the number of channels with local waiters.
func (h *Hub) Waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.channels)
}

// Resubscribed counts the channels the broker subscribed again after its
// connection was lost and restored (one per channel per reconnect).
func (h *Hub) Resubscribed() uint64 { return h.resubscribed.Load() }

// Deliver hands payload to this process's waiters on name at once, ahead
// of the broker, and drops the broker's copy of it when that arrives. The
// caller still publishes payload (byte for byte) for the other instances:
// a change made here then reaches the browsers waiting here without a
// round trip through the broker. A delivered message may overtake one from
// the broker still in flight; readers of approvals tolerate that, since a
// final state ends the stream.
func (h *Hub) Deliver(name string, payload []byte) {
	h.mu.Lock()
	ch := h.channels[name]
	var ws []*Waiter
	if ch != nil && len(ch.waiters) > 0 {
		ws = ch.waitersLocked()
		if len(ch.echoes) == maxEchoes {
			ch.echoes = ch.echoes[1:]
		}
		ch.echoes = append(ch.echoes, payload)
	}
	h.mu.Unlock()
	for _, w := range ws {
		w.l.Message(payload)
	}
}

// fanOut delivers broker events to the waiters of their channel.
func (h *Hub) fanOut() {
	for ev := range h.sub.Events() {
		if ev.Resubscribed {
			h.resubscribed.Add(1)
		}
		h.mu.Lock()
		ch := h.channels[ev.Channel]
		var ws []*Waiter
		if ch != nil && (ev.Resubscribed || !ch.echoed(ev.Payload)) {
			ws = ch.waitersLocked()
		}
		h.mu.Unlock()
		for _, w := range ws {
			if ev.Resubscribed {
				w.l.Resync()
			} else {
				w.l.Message(ev.Payload)
			}
		}
	}
}

// waitersLocked is a copy of the channel's waiters; h.mu is held.
func (ch *channel) waitersLocked() []*Waiter {
	ws := make([]*Waiter, 0, len(ch.waiters))
	for w := range ch.waiters {
		ws = append(ws, w)
	}
	return ws
}

// echoed reports (and forgets) whether payload is the broker's copy of one
// Deliver handed out; h.mu is held.
func (ch *channel) echoed(payload []byte) bool {
	for i, e := range ch.echoes {
		if bytes.Equal(e, payload) {
			ch.echoes = slices.Delete(ch.echoes, i, i+1)
			return true
		}
	}
	return false
}

// Close ends the hub's subscription.
func (h *Hub) Close() error {
	h.mu.Lock()
	select {
	case <-h.done:
		h.mu.Unlock()
		return nil
	default:
		close(h.done)
	}
	h.mu.Unlock()
	return h.sub.Close()
}
