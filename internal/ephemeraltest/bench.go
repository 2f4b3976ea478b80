package ephemeraltest

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchLimiter measures Hit: one key at a time, then many keys in parallel.
// The clock advances 1 ms per hit over a 100 ms window, so each log holds a
// steady ~100 events, as a busy login key would.
func BenchLimiter(b *testing.B, newLimiter NewLimiter) {
	const limit, window, step = 1000, 100 * time.Millisecond, time.Millisecond
	b.Run("Hit", func(b *testing.B) {
		l, ctx, key := newLimiter(b), context.Background(), Name("bench")
		now := t0
		for b.Loop() {
			now = now.Add(step)
			if _, err := l.Hit(ctx, key, limit, window, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("HitParallel", func(b *testing.B) {
		l, ctx := newLimiter(b), context.Background()
		var worker atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			key := Name("bench") + strconv.FormatInt(worker.Add(1), 10)
			now := t0
			for pb.Next() {
				now = now.Add(step)
				if _, err := l.Hit(ctx, key, limit, window, now); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchBroker measures the round trip Publish → Events on one subscribed
// channel and reports its median and 99th percentile.
func BenchBroker(b *testing.B, newBroker NewBroker) {
	br, ctx, ch := newBroker(b), context.Background(), Name("bench")
	sub := subscriber(b, br)
	if err := sub.Subscribe(ctx, ch); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"type":"approved"}`)
	var rtts []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := br.Publish(ctx, ch, payload); err != nil {
			b.Fatal(err)
		}
		Receive(b, sub.Events())
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(rtts[len(rtts)*99/100])/1e3, "p99-µs")
}
