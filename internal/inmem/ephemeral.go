// Package inmem keeps approvald's short-lived state in process: the
// embedded, single-instance twin of package redis. Ephemeral implements core.KV,
// core.Limiter and core.Broker behind one mutex, with time from a core.Clock.
package inmem

import (
	"context"
	"sync"
	"time"

	"github.com/approvald/approvald/internal/core"
)

const (
	// DefaultSweepInterval is how often expired keys and limiter logs are
	// evicted, beyond the lazy eviction on access.
	DefaultSweepInterval = time.Minute
	// DefaultEventBuffer is the Subscriber's room, in events, before a
	// publisher has to wait for the reader.
	DefaultEventBuffer = 4096
)

// Ephemeral is the in-process short-lived state. Close it to stop the sweeper.
type Ephemeral struct {
	clock         core.Clock
	sweepInterval time.Duration
	eventBuffer   int

	mu   sync.Mutex
	kv   map[string]entry
	logs map[string]*eventLog
	seq  uint64      // the last Reserve token's number
	sub  *subscriber // the one subscription; nil until asked for

	stop     chan struct{}
	stopOnce sync.Once
	swept    chan struct{} // closed when the sweeper has returned
}

var (
	_ core.KV      = (*Ephemeral)(nil)
	_ core.Limiter = (*Ephemeral)(nil)
	_ core.Broker  = (*Ephemeral)(nil)
	_ core.Pinger  = (*Ephemeral)(nil)
)

// Option adjusts a new Ephemeral.
type Option func(*Ephemeral)

// WithSweepInterval sets how often expired entries are evicted.
func WithSweepInterval(d time.Duration) Option {
	return func(s *Ephemeral) { s.sweepInterval = d }
}

// WithEventBuffer sets the Subscriber's buffer, in events.
func WithEventBuffer(n int) Option {
	return func(s *Ephemeral) { s.eventBuffer = n }
}

// New returns an Ephemeral that reads time from clock and sweeps expired entries
// in the background until Close.
func New(clock core.Clock, opts ...Option) *Ephemeral {
	s := &Ephemeral{
		clock:         clock,
		sweepInterval: DefaultSweepInterval,
		eventBuffer:   DefaultEventBuffer,
		kv:            make(map[string]entry),
		logs:          make(map[string]*eventLog),
		stop:          make(chan struct{}),
		swept:         make(chan struct{}),
	}
	for _, opt := range opts {
		opt(s)
	}
	go s.sweepEvery(s.sweepInterval)
	return s
}

// Ping always answers: the state lives in this process.
func (s *Ephemeral) Ping(context.Context) error { return nil }

// Close stops the sweeper and closes the subscription, if any.
func (s *Ephemeral) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.swept
	s.mu.Lock()
	sub := s.sub
	s.sub = nil
	s.mu.Unlock()
	if sub != nil {
		return sub.Close()
	}
	return nil
}

func (s *Ephemeral) sweepEvery(interval time.Duration) {
	defer close(s.swept)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.Sweep()
		case <-s.stop:
			return
		}
	}
}

// Sweep evicts every expired key and limiter log now; the background
// sweeper calls it, and tests call it after moving the clock.
func (s *Ephemeral) Sweep() {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.kv {
		if e.expired(now) {
			delete(s.kv, k)
		}
	}
	for k, l := range s.logs {
		if l.expired(now) {
			delete(s.logs, k)
		}
	}
}

// Len reports how many keys and limiter logs are held, expired or not, so
// tests can see that eviction bounds memory.
func (s *Ephemeral) Len() (keys, logs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.kv), len(s.logs)
}
