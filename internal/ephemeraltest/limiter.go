package ephemeraltest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// t0 is an arbitrary instant: limiters take now from the caller's clock.
var t0 = time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC)

// TestLimiter checks the core.Limiter contract with times it chooses, so it
// moves the window without sleeping.
func TestLimiter(t *testing.T, newLimiter NewLimiter) {
	t.Run("AllowsUpToLimitThenRefuses", func(t *testing.T) {
		t.Parallel()
		l, key := newLimiter(t), Name("rl")
		const limit, window = 3, 10 * time.Second
		for i := range limit {
			d := hit(t, l, key, limit, window, t0.Add(time.Duration(i)*time.Second))
			want(t, d, core.LimitDecision{Allowed: true, Count: i + 1})
		}
		// The 3 events at +0s, +1s, +2s: one more fits when +0s leaves, at +10s.
		d := hit(t, l, key, limit, window, t0.Add(3*time.Second))
		want(t, d, core.LimitDecision{Allowed: false, Count: 3, RetryAfter: 7 * time.Second})
	})

	t.Run("WindowSlides", func(t *testing.T) {
		t.Parallel()
		l, key := newLimiter(t), Name("rl")
		const limit, window = 3, 10 * time.Second
		for i := range limit {
			hit(t, l, key, limit, window, t0.Add(time.Duration(i)*time.Second))
		}
		want(t, hit(t, l, key, limit, window, t0.Add(3*time.Second)),
			core.LimitDecision{Count: 3, RetryAfter: 7 * time.Second})
		// One microsecond before +10s the first event still counts…
		want(t, hit(t, l, key, limit, window, t0.Add(window-time.Microsecond)),
			core.LimitDecision{Count: 3, RetryAfter: time.Microsecond})
		// …at +10s it has left: (now-window, now] excludes it. Had the refused
		// hits been recorded, this one would be refused too.
		want(t, hit(t, l, key, limit, window, t0.Add(window)),
			core.LimitDecision{Allowed: true, Count: 3})
		// Now +1s is the oldest, leaving at +11s.
		want(t, hit(t, l, key, limit, window, t0.Add(window)),
			core.LimitDecision{Count: 3, RetryAfter: time.Second})
		// Far later, everything has left.
		want(t, hit(t, l, key, limit, window, t0.Add(time.Hour)),
			core.LimitDecision{Allowed: true, Count: 1})
	})

	t.Run("RetryAfterWithLowerLimit", func(t *testing.T) {
		t.Parallel()
		l, key := newLimiter(t), Name("rl")
		const window = 10 * time.Second
		for i := range 5 {
			hit(t, l, key, 5, window, t0.Add(time.Duration(i)*time.Second))
		}
		// With limit 2, four of the five events (+0…+3s) must leave first.
		want(t, hit(t, l, key, 2, window, t0.Add(5*time.Second)),
			core.LimitDecision{Count: 5, RetryAfter: 8 * time.Second})
	})

	t.Run("CheckDoesNotRecord", func(t *testing.T) {
		t.Parallel()
		l, ctx, key := newLimiter(t), Context(t), Name("rl")
		const limit, window = 2, time.Minute
		for range 5 {
			d, err := l.Check(ctx, key, limit, window, t0)
			if err != nil {
				t.Fatal(err)
			}
			want(t, d, core.LimitDecision{Allowed: true, Count: 1})
		}
		want(t, hit(t, l, key, limit, window, t0), core.LimitDecision{Allowed: true, Count: 1})
		d, err := l.Check(ctx, key, limit, window, t0.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want(t, d, core.LimitDecision{Allowed: true, Count: 2})
		want(t, hit(t, l, key, limit, window, t0.Add(time.Second)), core.LimitDecision{Allowed: true, Count: 2})
		d, err = l.Check(ctx, key, limit, window, t0.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want(t, d, core.LimitDecision{Count: 2, RetryAfter: window - 2*time.Second})
	})

	t.Run("Reset", func(t *testing.T) {
		t.Parallel()
		l, ctx, key := newLimiter(t), Context(t), Name("rl")
		const limit, window = 2, time.Minute
		hit(t, l, key, limit, window, t0)
		hit(t, l, key, limit, window, t0)
		want(t, hit(t, l, key, limit, window, t0), core.LimitDecision{Count: 2, RetryAfter: window})
		if err := l.Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		want(t, hit(t, l, key, limit, window, t0), core.LimitDecision{Allowed: true, Count: 1})
		if err := l.Reset(ctx, Name("rl")); err != nil {
			t.Fatalf("Reset of an unknown key: %v", err)
		}
	})

	t.Run("KeysAreIndependent", func(t *testing.T) {
		t.Parallel()
		l, a, b := newLimiter(t), Name("rl"), Name("rl")
		hit(t, l, a, 1, time.Minute, t0)
		want(t, hit(t, l, b, 1, time.Minute, t0), core.LimitDecision{Allowed: true, Count: 1})
	})

	t.Run("ConcurrentHitsNeverExceedLimit", func(t *testing.T) {
		t.Parallel()
		l, ctx, key := newLimiter(t), Context(t), Name("rl")
		const limit, window = 10, time.Minute
		var (
			mu     sync.Mutex
			counts []int
			wg     sync.WaitGroup
		)
		for range 50 {
			wg.Go(func() {
				d, err := l.Hit(ctx, key, limit, window, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					mu.Lock()
					counts = append(counts, d.Count)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(counts)
		if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(counts, want) {
			t.Fatalf("counts of allowed hits = %v; want each of %v once", counts, want)
		}
		d, err := l.Check(ctx, key, limit, window, t0)
		if err != nil {
			t.Fatal(err)
		}
		want(t, d, core.LimitDecision{Count: limit, RetryAfter: window})
	})

	t.Run("CheckAndClaim", func(t *testing.T) {
		t.Parallel()
		l, ctx, key := newLimiter(t), Context(t), Name("rl")
		kv, ok := l.(core.KV)
		if !ok {
			t.Fatalf("%T is not a core.KV: the claim cannot be looked at", l)
		}
		const limit, window, ttl = 2, 10 * time.Second, time.Minute
		claim := func(name string) (core.LimitDecision, bool) {
			t.Helper()
			d, claimed, err := l.CheckAndClaim(ctx, key, limit, window, t0, name, ttl)
			if err != nil {
				t.Fatalf("CheckAndClaim: %v", err)
			}
			return d, claimed
		}
		first := Name("nonce")
		if d, claimed := claim(first); !claimed || d != (core.LimitDecision{Allowed: true, Count: 1}) {
			t.Fatalf("first claim: %+v, claimed %v; want allowed (nothing recorded) and claimed", d, claimed)
		}
		if v, ok, err := kv.Get(ctx, first); err != nil || !ok || v != "1" {
			t.Fatalf("the claim holds %q, %v, %v; want \"1\"", v, ok, err)
		}
		if left, err := kv.TTL(ctx, first); err != nil || left <= 0 || left > ttl {
			t.Fatalf("the claim lives %v (%v); want up to %v", left, err, ttl)
		}
		if d, claimed := claim(first); claimed || !d.Allowed {
			t.Fatalf("second claim of one key: %+v, claimed %v; want allowed, not claimed", d, claimed)
		}
		// Over the limit: refused as Check would be, and nothing claimed.
		hit(t, l, key, limit, window, t0.Add(-2*time.Second))
		hit(t, l, key, limit, window, t0.Add(-time.Second))
		refusedClaim := Name("nonce")
		if d, claimed := claim(refusedClaim); claimed || d != (core.LimitDecision{Count: 2, RetryAfter: 8 * time.Second}) {
			t.Fatalf("claim over the limit: %+v, claimed %v; want refused for 8s, not claimed", d, claimed)
		}
		if _, ok, _ := kv.Get(ctx, refusedClaim); ok {
			t.Fatal("a refused check claimed its key")
		}
		if _, _, err := l.CheckAndClaim(ctx, key, limit, window, t0, Name("nonce"), 0); err == nil {
			t.Fatal("CheckAndClaim with ttl 0: no error")
		}
	})

	t.Run("ReserveAndRelease", func(t *testing.T) {
		t.Parallel()
		l, ctx, key := newLimiter(t), Context(t), Name("rl")
		const limit, window = 2, time.Minute
		reserve := func(at time.Time) (core.LimitDecision, string) {
			t.Helper()
			d, token, err := l.Reserve(ctx, key, limit, window, at)
			if err != nil {
				t.Fatalf("Reserve: %v", err)
			}
			return d, token
		}
		d, first := reserve(t0)
		want(t, d, core.LimitDecision{Allowed: true, Count: 1})
		d, second := reserve(t0.Add(time.Second))
		want(t, d, core.LimitDecision{Allowed: true, Count: 2})
		if first == "" || second == "" || first == second {
			t.Fatalf("tokens %q and %q; want two distinct ones", first, second)
		}
		// Full: refused as Hit would be, with no token.
		d, token := reserve(t0.Add(2 * time.Second))
		want(t, d, core.LimitDecision{Count: 2, RetryAfter: window - 2*time.Second})
		if token != "" {
			t.Fatalf("a refused reservation has token %q", token)
		}
		// Giving the first back frees its place; the second still counts,
		// and still leaves the window when its own time comes.
		if err := l.Release(ctx, key, first); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if err := l.Release(ctx, key, first); err != nil {
			t.Fatalf("second Release of one token: %v", err)
		}
		if err := l.Release(ctx, key, ""); err != nil {
			t.Fatalf("Release of no token: %v", err)
		}
		d, _ = reserve(t0.Add(2 * time.Second))
		want(t, d, core.LimitDecision{Allowed: true, Count: 2})
		want(t, hit(t, l, key, limit, window, t0.Add(3*time.Second)),
			core.LimitDecision{Count: 2, RetryAfter: window - 2*time.Second})
		if err := l.Release(ctx, Name("rl"), second); err != nil {
			t.Fatalf("Release under an unknown key: %v", err)
		}
	})

	t.Run("ConcurrentReservationsNeverExceedLimit", func(t *testing.T) {
		t.Parallel()
		l, ctx, key := newLimiter(t), Context(t), Name("rl")
		const limit, window = 10, time.Minute
		var (
			mu     sync.Mutex
			tokens []string
			wg     sync.WaitGroup
		)
		for range 40 {
			wg.Go(func() {
				d, token, err := l.Reserve(ctx, key, limit, window, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					mu.Lock()
					tokens = append(tokens, token)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(tokens) != limit {
			t.Fatalf("%d of 40 concurrent reservations allowed; want %d", len(tokens), limit)
		}
		// Every one given back: the key is empty again.
		for _, tok := range tokens {
			if err := l.Release(ctx, key, tok); err != nil {
				t.Fatal(err)
			}
		}
		d, err := l.Check(ctx, key, limit, window, t0)
		if err != nil {
			t.Fatal(err)
		}
		want(t, d, core.LimitDecision{Allowed: true, Count: 1})
	})

	t.Run("RejectsNonsense", func(t *testing.T) {
		t.Parallel()
		l, ctx, key := newLimiter(t), Context(t), Name("rl")
		if _, err := l.Hit(ctx, key, 0, time.Minute, t0); err == nil {
			t.Error("Hit with limit 0: no error")
		}
		if _, err := l.Hit(ctx, key, 1, 0, t0); err == nil {
			t.Error("Hit with window 0: no error")
		}
	})
}

func hit(t *testing.T, l core.Limiter, key string, limit int, window time.Duration, now time.Time) core.LimitDecision {
	t.Helper()
	d, err := l.Hit(Context(t), key, limit, window, now)
	if err != nil {
		t.Fatalf("Hit: %v", err)
	}
	return d
}

func want(t *testing.T, got, want core.LimitDecision) {
	t.Helper()
	if got != want {
		t.Fatalf("decision = %+v; want %+v", got, want)
	}
}
