package redis

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/approvald/approvald/internal/core"
)

const (
	// eventBuffer is the room between Redis and the hub, in events; generous
	// because the alternative to buffering is stalling the connection every
	// waiter shares.
	eventBuffer = 4096
	// deliveryTimeout is how long go-redis waits for room in its buffer before
	// it drops a message. Far longer than a healthy hub ever stalls: long
	// before that, Redis cuts a subscriber whose output buffer overflowed,
	// and the reconnection surfaces as Resubscribed events.
	deliveryTimeout = time.Hour
	// takeBackTimeout bounds the UNSUBSCRIBE that undoes a failed Subscribe.
	takeBackTimeout = 5 * time.Second
)

var errSubscriberClosed = errors.New("subscriber is closed")

// subscriber multiplexes every channel of the process on one go-redis
// PubSub. One goroutine reads it: a "subscribe" confirmation releases the
// Subscribe call waiting for it, or, when nobody waits (go-redis subscribed
// again by itself after a reconnect), becomes a Resubscribed event.
//
// Confirmations arrive on the same connection as messages, so Events must be
// read continuously: a stalled reader stalls Subscribe too. Subscriptions are
// not counted: one Unsubscribe ends a channel however often it was
// subscribed (the hub counts its waiters).
type subscriber struct {
	ps      *goredis.PubSub
	prefix  string
	events  chan core.BrokerMessage
	closing chan struct{} // closed by Close
	done    chan struct{} // closed once the reader has closed events
	once    sync.Once

	// opMu orders the commands sent on ps with the changes to wanted, so a
	// failed Subscribe takes back exactly the channels it added.
	opMu sync.Mutex

	mu      sync.Mutex
	wanted  map[string]uint64     // Redis channel → id of the Subscribe that asked for it
	waiters map[string][]*pending // Redis channel → Subscribe calls awaiting its confirmation, oldest first
	lastID  uint64
}

// pending is one Subscribe call waiting for Redis to confirm its channels.
type pending struct {
	id        uint64
	channels  []string // Redis names, deduplicated
	left      int      // confirmations still missing
	confirmed chan struct{}
	abandoned bool // the caller gave up; its channels are to be taken back
}

func newSubscriber(ctx context.Context, rdb *goredis.Client, prefix string) *subscriber {
	s := &subscriber{
		ps:      rdb.Subscribe(ctx), // no channels yet: nothing is sent
		prefix:  prefix,
		events:  make(chan core.BrokerMessage, eventBuffer),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		wanted:  make(map[string]uint64),
		waiters: make(map[string][]*pending),
	}
	in := s.ps.ChannelWithSubscriptions(
		goredis.WithChannelSize(eventBuffer),
		goredis.WithChannelSendTimeout(deliveryTimeout),
	)
	go s.run(in)
	return s
}

func (s *subscriber) Events() <-chan core.BrokerMessage { return s.events }

// Subscribe returns once Redis confirmed every channel, or with an error when
// ctx ends first or the command cannot be sent. On error the channels it
// added are unsubscribed again in the background.
func (s *subscriber) Subscribe(ctx context.Context, channels ...string) error {
	p, err := s.await(s.names(channels))
	if err != nil || p == nil {
		return err
	}
	// go-redis holds its lock while it dials, whatever our ctx says, so the
	// command is sent from a goroutine and we wait here with ctx.
	sent := make(chan error, 1)
	go func() { sent <- s.send(ctx, p) }()
	for {
		select {
		case <-p.confirmed:
			return nil
		case err := <-sent:
			if err == nil {
				sent = nil // on its way; Redis still has to confirm
				continue
			}
			s.abandon(p)
			return core.Unavailable("redis", err)
		case <-ctx.Done():
			s.abandon(p)
			return core.Unavailable("redis", ctx.Err())
		case <-s.closing:
			return core.Unavailable("redis", errSubscriberClosed)
		}
	}
}

// await registers a pending Subscribe for names; nil when there are none.
func (s *subscriber) await(names []string) (*pending, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if s.closed() {
		return nil, core.Unavailable("redis", errSubscriberClosed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastID++
	p := &pending{id: s.lastID, channels: names, left: len(names), confirmed: make(chan struct{})}
	for _, ch := range names {
		s.waiters[ch] = append(s.waiters[ch], p)
	}
	return p, nil
}

// send marks p's channels wanted and sends SUBSCRIBE, unless p was
// abandoned before its turn came.
func (s *subscriber) send(ctx context.Context, p *pending) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	if p.abandoned {
		s.mu.Unlock()
		return nil
	}
	for _, ch := range p.channels {
		s.wanted[ch] = p.id
	}
	s.mu.Unlock()
	return s.ps.Subscribe(ctx, p.channels...)
}

// abandon stops waiting for p and takes its channels back.
func (s *subscriber) abandon(p *pending) {
	s.mu.Lock()
	p.abandoned = true
	for _, ch := range p.channels {
		s.removeWaiter(ch, p)
	}
	s.mu.Unlock()
	go s.takeBack(p)
}

// takeBack unsubscribes the channels p added that no later Subscribe has
// claimed. go-redis remembers a channel even when SUBSCRIBE failed and would
// subscribe it after the next reconnect; UNSUBSCRIBE makes it forget.
func (s *subscriber) takeBack(p *pending) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	var mine []string
	for _, ch := range p.channels {
		if id, ok := s.wanted[ch]; ok && id == p.id {
			delete(s.wanted, ch)
			mine = append(mine, ch)
		}
	}
	s.mu.Unlock()
	if len(mine) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), takeBackTimeout)
	defer cancel()
	_ = s.ps.Unsubscribe(ctx, mine...) // forgotten locally even if the write fails
}

// Unsubscribe stops delivery of channels at once (messages already in
// Events stay there) and sends UNSUBSCRIBE, waiting at most until ctx ends.
func (s *subscriber) Unsubscribe(ctx context.Context, channels ...string) error {
	names := s.names(channels)
	if len(names) == 0 {
		return nil // go-redis would read "no channels" as "all channels"
	}
	if s.closed() {
		return nil // nothing is delivered any more
	}
	s.mu.Lock()
	for _, ch := range names {
		delete(s.wanted, ch)
	}
	s.mu.Unlock()
	sent := make(chan error, 1)
	go func() {
		s.opMu.Lock()
		defer s.opMu.Unlock()
		sent <- s.ps.Unsubscribe(ctx, names...)
	}()
	select {
	case err := <-sent:
		if err != nil {
			return core.Unavailable("redis", err)
		}
		return nil
	case <-ctx.Done():
		return core.Unavailable("redis", ctx.Err())
	}
}

// Close stops the reader, closes the connection and then Events.
func (s *subscriber) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		err = s.ps.Close()
	})
	<-s.done
	return err
}

func (s *subscriber) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// run turns what go-redis reads into events until go-redis closes in.
func (s *subscriber) run(in <-chan any) {
	defer close(s.done)
	defer close(s.events)
	for m := range in {
		ev, ok := s.handle(m)
		if !ok {
			continue
		}
		select {
		case s.events <- ev:
		case <-s.closing:
			// Nobody reads any more; keep draining in so go-redis can stop.
		}
	}
}

// handle settles confirmations and returns the event to deliver, if any.
func (s *subscriber) handle(m any) (core.BrokerMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m := m.(type) {
	case *goredis.Subscription:
		if m.Kind != "subscribe" {
			return core.BrokerMessage{}, false
		}
		if q := s.waiters[m.Channel]; len(q) > 0 {
			p := q[0]
			s.removeWaiter(m.Channel, p)
			if p.left--; p.left == 0 {
				close(p.confirmed)
			}
			return core.BrokerMessage{}, false
		}
		if _, ok := s.wanted[m.Channel]; ok {
			return core.BrokerMessage{Channel: s.strip(m.Channel), Resubscribed: true}, true
		}
	case *goredis.Message:
		// A channel unsubscribed meanwhile is dropped: its reader left.
		if _, ok := s.wanted[m.Channel]; ok {
			return core.BrokerMessage{Channel: s.strip(m.Channel), Payload: []byte(m.Payload)}, true
		}
	}
	return core.BrokerMessage{}, false
}

// removeWaiter takes p off ch's queue; s.mu is held.
func (s *subscriber) removeWaiter(ch string, p *pending) {
	q := s.waiters[ch]
	for i, w := range q {
		if w == p {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(s.waiters, ch)
	} else {
		s.waiters[ch] = q
	}
}

// names prefixes and deduplicates channels (Redis confirms a repeated
// channel twice, which would confuse the counting).
func (s *subscriber) names(channels []string) []string {
	seen := make(map[string]struct{}, len(channels))
	names := make([]string, 0, len(channels))
	for _, ch := range channels {
		n := s.prefix + ch
		if _, dup := seen[n]; dup {
			continue
		}
		seen[n] = struct{}{}
		names = append(names, n)
	}
	return names
}

func (s *subscriber) strip(name string) string { return strings.TrimPrefix(name, s.prefix) }
