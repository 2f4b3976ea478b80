package inmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/inmem"
)

func newStore(t testing.TB, opts ...inmem.Option) *inmem.Ephemeral {
	return newStoreWithClock(t, core.SystemClock{}, opts...)
}

func newStoreWithClock(t testing.TB, clock core.Clock, opts ...inmem.Option) *inmem.Ephemeral {
	s := inmem.New(clock, opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestKV(t *testing.T) {
	ephemeraltest.TestKV(t, func(t testing.TB) core.KV { return newStore(t) })
}

func TestLimiter(t *testing.T) {
	ephemeraltest.TestLimiter(t, func(t testing.TB) core.Limiter { return newStore(t) })
}

func TestBroker(t *testing.T) {
	ephemeraltest.TestBroker(t, func(t testing.TB) core.Broker { return newStore(t) })
}

func BenchmarkLimiter(b *testing.B) {
	ephemeraltest.BenchLimiter(b, func(t testing.TB) core.Limiter { return newStore(t) })
}

func BenchmarkBroker(b *testing.B) {
	ephemeraltest.BenchBroker(b, func(t testing.TB) core.Broker { return newStore(t) })
}

func TestExpiryFollowsTheClock(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC))
	s, ctx := newStoreWithClock(t, clock), context.Background()
	if _, err := s.SetNX(ctx, "k", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute - time.Nanosecond)
	if d, _ := s.TTL(ctx, "k"); d != time.Nanosecond {
		t.Fatalf("TTL = %v; want 1ns", d)
	}
	clock.Advance(time.Nanosecond)
	if _, ok, _ := s.Get(ctx, "k"); ok {
		t.Fatal("key alive at its expiry instant")
	}
	if keys, _ := s.Len(); keys != 0 {
		t.Fatalf("%d keys held after a Get saw the expiry; want 0 (lazy eviction)", keys)
	}
}

func TestSweepBoundsMemory(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC))
	s, ctx := newStoreWithClock(t, clock), context.Background()
	for i := range 1000 {
		key := ephemeraltest.Name("k")
		if _, err := s.SetNX(ctx, key, "v", time.Duration(i+1)*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Hit(ctx, key, 5, time.Duration(i+1)*time.Millisecond, clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(500 * time.Millisecond)
	s.Sweep()
	if keys, logs := s.Len(); keys != 500 || logs != 500 {
		t.Fatalf("after half the TTLs passed: %d keys, %d logs; want 500 each", keys, logs)
	}
	clock.Advance(time.Second)
	s.Sweep()
	if keys, logs := s.Len(); keys != 0 || logs != 0 {
		t.Fatalf("after every TTL passed: %d keys, %d logs; want none", keys, logs)
	}
}

func TestBackgroundSweep(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC))
	s := newStoreWithClock(t, clock, inmem.WithSweepInterval(time.Millisecond))
	if _, err := s.SetNX(context.Background(), "k", "v", time.Second); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	deadline := time.Now().Add(2 * time.Second)
	for keys, _ := s.Len(); keys != 0; keys, _ = s.Len() {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not evict an expired key")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLimiterLogExpiresLikePEXPIRE(t *testing.T) {
	// The log dies a window after its last event by the store's clock, as
	// the Redis key does by the server's, whatever now the caller passes.
	clock := clocktest.New(time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC))
	s, ctx := newStoreWithClock(t, clock), context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Hit(ctx, "k", 1, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Check(ctx, "k", 1, time.Minute, now); d.Allowed {
		t.Fatal("second event allowed within the window")
	}
	clock.Advance(time.Minute)
	if d, _ := s.Check(ctx, "k", 1, time.Minute, now); !d.Allowed {
		t.Fatalf("log outlived its expiry: %+v", d)
	}
}

func TestFullBufferBlocksPublisherInsteadOfDropping(t *testing.T) {
	s, ch := newStore(t, inmem.WithEventBuffer(2)), "ch"
	sub, err := s.Subscriber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"1", "2"} {
		if err := s.Publish(context.Background(), ch, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}

	// The buffer is full: a publisher with a deadline fails rather than drop.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Publish(ctx, ch, []byte("x")); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Publish into a full buffer = %v; want unavailable after its deadline", err)
	}

	// A patient publisher waits until the reader makes room, then delivers.
	published := make(chan error, 1)
	go func() { published <- s.Publish(context.Background(), ch, []byte("3")) }()
	for _, want := range []string{"1", "2", "3"} {
		if ev := ephemeraltest.Receive(t, sub.Events()); string(ev.Payload) != want {
			t.Fatalf("received %q; want %q", ev.Payload, want)
		}
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
}

func TestCloseReleasesBlockedPublisher(t *testing.T) {
	s, ch := newStore(t, inmem.WithEventBuffer(1)), "ch"
	sub, _ := s.Subscriber(context.Background())
	_ = sub.Subscribe(context.Background(), ch)
	_ = s.Publish(context.Background(), ch, []byte("fills the buffer"))
	published := make(chan error, 1)
	go func() { published <- s.Publish(context.Background(), ch, []byte("waits")) }()
	time.Sleep(10 * time.Millisecond) // let it block; Close must free it either way
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-published:
		if err != nil {
			t.Fatalf("Publish to a closed subscriber = %v; want nil, as PUBLISH to nobody", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close left a publisher blocked")
	}
}

func TestPublishCopiesPayload(t *testing.T) {
	s := newStore(t)
	sub, _ := s.Subscriber(context.Background())
	_ = sub.Subscribe(context.Background(), "ch")
	buf := []byte("original")
	if err := s.Publish(context.Background(), "ch", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "mutated!")
	if ev := ephemeraltest.Receive(t, sub.Events()); string(ev.Payload) != "original" {
		t.Fatalf("payload = %q; the publisher's later write leaked into the event", ev.Payload)
	}
}
