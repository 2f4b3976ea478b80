package ephemeraltest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestKV checks the core.KV contract.
func TestKV(t *testing.T, newKV NewKV) {
	t.Run("SetNXStoresOnlyOnce", func(t *testing.T) {
		t.Parallel()
		kv, ctx, key := newKV(t), Context(t), Name("kv")
		if ok, err := kv.SetNX(ctx, key, "first", time.Minute); err != nil || !ok {
			t.Fatalf("first SetNX = %v, %v; want true", ok, err)
		}
		if ok, err := kv.SetNX(ctx, key, "second", time.Minute); err != nil || ok {
			t.Fatalf("second SetNX = %v, %v; want false", ok, err)
		}
		if v, ok, err := kv.Get(ctx, key); err != nil || !ok || v != "first" {
			t.Fatalf("Get = %q, %v, %v; want the first value", v, ok, err)
		}
	})

	t.Run("SetNXConcurrentlyOneWinner", func(t *testing.T) {
		t.Parallel()
		kv, ctx, key := newKV(t), Context(t), Name("kv")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				ok, err := kv.SetNX(ctx, key, "x", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d of 50 concurrent SetNX stored; want exactly 1", n)
		}
	})

	t.Run("AbsentKey", func(t *testing.T) {
		t.Parallel()
		kv, ctx, key := newKV(t), Context(t), Name("kv")
		if v, ok, err := kv.Get(ctx, key); err != nil || ok || v != "" {
			t.Fatalf("Get = %q, %v, %v; want absent", v, ok, err)
		}
		if d, err := kv.TTL(ctx, key); err != nil || d != 0 {
			t.Fatalf("TTL = %v, %v; want 0", d, err)
		}
		if err := kv.Del(ctx, key); err != nil {
			t.Fatalf("Del of an absent key: %v", err)
		}
	})

	t.Run("TTLCountsDown", func(t *testing.T) {
		t.Parallel()
		kv, ctx, key := newKV(t), Context(t), Name("kv")
		const ttl = 10 * time.Second
		if _, err := kv.SetNX(ctx, key, "v", ttl); err != nil {
			t.Fatal(err)
		}
		d, err := kv.TTL(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if d <= ttl-2*time.Second || d > ttl {
			t.Fatalf("TTL right after SetNX = %v; want just under %v", d, ttl)
		}
	})

	t.Run("ValueExpires", func(t *testing.T) {
		t.Parallel()
		kv, ctx, key := newKV(t), Context(t), Name("kv")
		const ttl = 100 * time.Millisecond
		start := time.Now()
		if ok, err := kv.SetNX(ctx, key, "v", ttl); err != nil || !ok {
			t.Fatalf("SetNX = %v, %v", ok, err)
		}
		if _, ok, err := kv.Get(ctx, key); err != nil || !ok {
			if time.Since(start) < ttl/2 { // only a slow machine excuses absence here
				t.Fatalf("Get right after SetNX = %v, %v; want present", ok, err)
			}
		}
		time.Sleep(time.Until(start.Add(ttl + 60*time.Millisecond)))
		if v, ok, err := kv.Get(ctx, key); err != nil || ok {
			t.Fatalf("Get after the TTL = %q, %v, %v; want absent", v, ok, err)
		}
		if d, err := kv.TTL(ctx, key); err != nil || d != 0 {
			t.Fatalf("TTL after expiry = %v, %v; want 0", d, err)
		}
		if ok, err := kv.SetNX(ctx, key, "again", time.Minute); err != nil || !ok {
			t.Fatalf("SetNX after expiry = %v, %v; want true", ok, err)
		}
	})

	t.Run("DelFrees", func(t *testing.T) {
		t.Parallel()
		kv, ctx, key := newKV(t), Context(t), Name("kv")
		if _, err := kv.SetNX(ctx, key, "v", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := kv.Del(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := kv.Get(ctx, key); err != nil || ok {
			t.Fatalf("Get after Del = %v, %v; want absent", ok, err)
		}
		if ok, err := kv.SetNX(ctx, key, "again", time.Minute); err != nil || !ok {
			t.Fatalf("SetNX after Del = %v, %v; want true", ok, err)
		}
	})

	t.Run("RejectsNoTTL", func(t *testing.T) {
		t.Parallel()
		kv, ctx, key := newKV(t), Context(t), Name("kv")
		if ok, err := kv.SetNX(ctx, key, "v", 0); err == nil || ok {
			t.Fatalf("SetNX with ttl 0 = %v, %v; want an error (keys must die)", ok, err)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		if err := newKV(t).Ping(Context(t)); err != nil {
			t.Fatal(err)
		}
	})
}
