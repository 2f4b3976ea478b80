package inmem

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/approvald/approvald/internal/core"
)

var errSubscriberClosed = errors.New("subscriber is closed")

// Publish hands payload to the Subscriber when it listens on channel. When
// its buffer is full, Publish waits for room until ctx ends rather than
// drop the event.
func (s *Ephemeral) Publish(ctx context.Context, channel string, payload []byte) error {
	s.mu.Lock()
	sub := s.sub
	s.mu.Unlock()
	if sub == nil {
		return nil // nobody listens, as with PUBLISH to no subscriber
	}
	return sub.deliver(ctx, channel, payload)
}

// Subscriber returns the process's one subscription, creating it on first
// use; after it was closed, the next call starts a fresh one.
func (s *Ephemeral) Subscriber(context.Context) (core.Subscriber, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub == nil || s.sub.isClosed() {
		s.sub = newSubscriber(s.eventBuffer)
	}
	return s.sub, nil
}

// subscriber is the in-process subscription: a set of channels and one
// buffered stream of events.
type subscriber struct {
	events  chan core.BrokerMessage
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	channels map[string]struct{}
	closed   bool
	// inflight counts publishers between their check and their send, so
	// Close closes events only after the last of them has left.
	inflight sync.WaitGroup
}

func newSubscriber(buffer int) *subscriber {
	return &subscriber{
		events:   make(chan core.BrokerMessage, buffer),
		closing:  make(chan struct{}),
		channels: make(map[string]struct{}),
	}
}

func (sub *subscriber) Events() <-chan core.BrokerMessage { return sub.events }

// Subscribe takes effect before it returns: there is no server to confirm.
func (sub *subscriber) Subscribe(_ context.Context, channels ...string) error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return core.Unavailable("broker", errSubscriberClosed)
	}
	for _, ch := range channels {
		sub.channels[ch] = struct{}{}
	}
	return nil
}

func (sub *subscriber) Unsubscribe(_ context.Context, channels ...string) error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, ch := range channels {
		delete(sub.channels, ch)
	}
	return nil
}

// Close stops deliveries and closes Events; publishers waiting for room
// return without error, as a PUBLISH to a departed subscriber would.
func (sub *subscriber) Close() error {
	sub.once.Do(func() {
		sub.mu.Lock()
		sub.closed = true
		close(sub.closing)
		sub.mu.Unlock()
		sub.inflight.Wait()
		close(sub.events)
	})
	return nil
}

func (sub *subscriber) isClosed() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.closed
}

func (sub *subscriber) deliver(ctx context.Context, channel string, payload []byte) error {
	sub.mu.Lock()
	_, listening := sub.channels[channel]
	if sub.closed || !listening {
		sub.mu.Unlock()
		return nil
	}
	sub.inflight.Add(1)
	sub.mu.Unlock()
	defer sub.inflight.Done()

	// Copied, so the publisher may reuse its buffer as it could after PUBLISH.
	ev := core.BrokerMessage{Channel: channel, Payload: bytes.Clone(payload)}
	select {
	case sub.events <- ev: // room: delivered even if ctx is already done
		return nil
	default:
	}
	select {
	case sub.events <- ev:
		return nil
	case <-sub.closing:
		return nil
	case <-ctx.Done():
		return core.Unavailable("broker", ctx.Err())
	}
}
