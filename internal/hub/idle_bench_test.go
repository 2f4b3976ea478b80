package hub_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/approvald/approvald/internal/ephemeraltest"
)

// BenchmarkFanOutAmongIdle is BenchmarkFanOut with 10,000 other channels
// subscribed, each with its listener, as on an instance with that many
// waiting browsers: a message still costs one map lookup and one send.
func BenchmarkFanOutAmongIdle(b *testing.B) {
	br := openInmem(b)
	h, ctx := newHub(b, br), context.Background()
	prefix := ephemeraltest.Name("idle")
	for i := range 10000 {
		listen(b, h, prefix+strconv.Itoa(i), make(sink, 1))
	}
	ch := ephemeraltest.Name("bench")
	s := make(sink, 1)
	listen(b, h, ch, s)
	payload := []byte(`1764000000000000000 {"type":"status","status":"approved"}`)
	for b.Loop() {
		if err := br.Publish(ctx, ch, payload); err != nil {
			b.Fatal(err)
		}
		if m := <-s; m == nil {
			b.Fatal("Resync or Broken during the benchmark")
		}
	}
	if got := h.Waiting(); got != 10001 {
		b.Fatalf("%d channels subscribed, want 10001", got)
	}
}
