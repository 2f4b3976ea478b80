package redis_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/testenv"
)

// open connects to rawURL with a prefix of its own, closed when t ends.
func open(t testing.TB, rawURL string, opts ...redis.Option) *redis.Client {
	t.Helper()
	opts = append([]redis.Option{redis.WithPrefix(ephemeraltest.Name("test") + ":")}, opts...)
	c, err := redis.Open(ephemeraltest.Context(t), rawURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newClient(t testing.TB) *redis.Client { return open(t, testenv.RedisURL(t)) }

// raw is a plain go-redis client on the test server, to look behind ours.
func raw(t testing.TB) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// withQuery returns rawURL with extra query parameters (and host, when set).
func withQuery(t testing.TB, rawURL, host string, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		u.Host = host
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestKV(t *testing.T) {
	ephemeraltest.TestKV(t, func(t testing.TB) core.KV { return newClient(t) })
}

func TestLimiter(t *testing.T) {
	ephemeraltest.TestLimiter(t, func(t testing.TB) core.Limiter { return newClient(t) })
}

func TestBroker(t *testing.T) {
	ephemeraltest.TestBroker(t, func(t testing.TB) core.Broker { return newClient(t) })
}

func BenchmarkLimiter(b *testing.B) {
	ephemeraltest.BenchLimiter(b, func(t testing.TB) core.Limiter { return newClient(t) })
}

func BenchmarkBroker(b *testing.B) {
	ephemeraltest.BenchBroker(b, func(t testing.TB) core.Broker { return newClient(t) })
}

func TestDefaultPrefixOnKeysAndChannels(t *testing.T) {
	t.Parallel()
	ctx, direct := ephemeraltest.Context(t), raw(t)
	c, err := redis.Open(ctx, testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	key, ch := ephemeraltest.Name("k"), ephemeraltest.Name("ch")

	if _, err := c.SetNX(ctx, key, "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Del(context.Background(), redis.DefaultPrefix+key) })
	if v, err := direct.Get(ctx, redis.DefaultPrefix+key).Result(); err != nil || v != "v" {
		t.Fatalf("GET %s%s = %q, %v; want the value stored through the client", redis.DefaultPrefix, key, v, err)
	}

	if _, err := c.Hit(ctx, key, 1, time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Del(context.Background(), redis.DefaultPrefix+"rate:"+key) })
	if n, err := direct.Exists(ctx, redis.DefaultPrefix+"rate:"+key).Result(); err != nil || n != 1 {
		t.Fatalf("limiter log under %srate:%s: exists = %d, %v", redis.DefaultPrefix, key, n, err)
	}

	sub, err := c.Subscriber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := direct.Publish(ctx, redis.DefaultPrefix+ch, "hi").Err(); err != nil {
		t.Fatal(err)
	}
	if ev := ephemeraltest.Receive(t, sub.Events()); ev.Channel != ch || string(ev.Payload) != "hi" {
		t.Fatalf("event = %+v; want %q on %q, prefix stripped", ev, "hi", ch)
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	ctx := ephemeraltest.Context(t)
	if _, err := redis.Open(ctx, "http://user:secret@example.com"); err == nil {
		t.Fatal("Open accepted an http:// URL")
	} else if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error repeats the password: %v", err)
	}
	// Port 1 on loopback refuses: Open pings, so it fails now, not later.
	if _, err := redis.Open(ctx, "redis://127.0.0.1:1/0"); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Open of a closed port = %v; want unavailable", err)
	}
}

func TestResubscribedAfterConnectionKilled(t *testing.T) {
	t.Parallel()
	name := ephemeraltest.Name("approvald-test")
	c := open(t, withQuery(t, testenv.RedisURL(t), "", map[string]string{"client_name": name}))
	ctx, a, b := ephemeraltest.Context(t), ephemeraltest.Name("ch"), ephemeraltest.Name("ch")
	sub, err := c.Subscriber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(ctx, a, b); err != nil {
		t.Fatal(err)
	}

	// Kill only our subscription: the server is shared with other tests.
	direct := raw(t)
	id := pubsubClientID(t, direct, name)
	if err := direct.Do(ctx, "client", "kill", "type", "pubsub", "id", id).Err(); err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{a: true, b: true}
	timeout := time.After(5 * time.Second)
	for len(want) > 0 {
		select {
		case ev := <-sub.Events():
			if !ev.Resubscribed {
				t.Fatalf("unexpected %+v before the Resubscribed events", ev)
			}
			delete(want, ev.Channel)
		case <-timeout:
			t.Fatalf("no Resubscribed event for %v after the connection was killed", want)
		}
	}
	if err := c.Publish(ctx, a, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if ev := ephemeraltest.Receive(t, sub.Events()); ev.Channel != a || string(ev.Payload) != "after" {
		t.Fatalf("event = %+v; want %q on %s", ev, "after", a)
	}
}

// pubsubClientID finds the id of the pubsub connection named name.
func pubsubClientID(t *testing.T, direct *goredis.Client, name string) string {
	t.Helper()
	list, err := direct.Do(ephemeraltest.Context(t), "client", "list", "type", "pubsub").Text()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(list) {
		fields := map[string]string{}
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name {
			return fields["id"]
		}
	}
	t.Fatalf("no pubsub connection named %s in CLIENT LIST", name)
	return ""
}

func TestRedisHangs(t *testing.T) {
	t.Parallel()
	o, err := goredis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, o.Addr)
	prefix := ephemeraltest.Name("test") + ":"
	c := open(t, withQuery(t, testenv.RedisURL(t), p.addr(), map[string]string{
		"dial_timeout": "300ms", "read_timeout": "300ms", "write_timeout": "300ms", "max_retries": "1",
	}), redis.WithPrefix(prefix))
	ctx, kept := ephemeraltest.Context(t), ephemeraltest.Name("ch")
	sub, err := c.Subscriber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(ctx, kept); err != nil {
		t.Fatal(err)
	}

	p.blackhole()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	lostA := ephemeraltest.Name("ch")
	start := time.Now()
	err = sub.Subscribe(cancelled, lostA)
	if !core.IsCode(err, core.EUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe with a cancelled ctx = %v; want unavailable wrapping context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second { // it hangs for good otherwise; the error proves the ctx was read
		t.Fatalf("Subscribe with a cancelled ctx took %v", d)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	lostB := ephemeraltest.Name("ch")
	start = time.Now()
	if err := sub.Subscribe(short, lostB); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Subscribe while Redis hangs = %v; want unavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Subscribe with a 200ms ctx took %v while Redis hangs", d)
	}

	short, cancelShort = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	if _, _, err := c.Get(short, "k"); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("Get while Redis hangs = %v; want unavailable", err)
	}

	p.heal()

	// The kept channel comes back by itself, announced so state is re-read.
	timeout := time.After(10 * time.Second)
	for resubscribed := false; !resubscribed; {
		select {
		case ev := <-sub.Events():
			resubscribed = ev.Resubscribed && ev.Channel == kept
		case <-timeout:
			t.Fatal("no Resubscribed event after Redis came back")
		}
	}
	if err := c.Publish(ctx, kept, []byte("back")); err != nil {
		t.Fatal(err)
	}
	if ev := ephemeraltest.Receive(t, sub.Events()); ev.Channel != kept || string(ev.Payload) != "back" {
		t.Fatalf("event = %+v; want %q on %s", ev, "back", kept)
	}

	// The channels of the failed Subscribe calls were taken back, not left
	// for go-redis to subscribe after the reconnect.
	direct := raw(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := direct.PubSubNumSub(ctx, prefix+lostA, prefix+lostB, prefix+kept).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[prefix+lostA] == 0 && n[prefix+lostB] == 0 && n[prefix+kept] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribers per channel = %v; want only the kept channel", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubscribeReturnsOnlyOnceRedisConfirmed(t *testing.T) {
	t.Parallel()
	o, err := goredis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	// Our SUBSCRIBE travels slowly; the PUBLISH below goes straight to Redis.
	p := newSlowProxy(t, o.Addr, 50*time.Millisecond)
	prefix := ephemeraltest.Name("test") + ":"
	c := open(t, withQuery(t, testenv.RedisURL(t), p.addr(), nil), redis.WithPrefix(prefix))
	ctx, ch := ephemeraltest.Context(t), ephemeraltest.Name("ch")
	sub, err := c.Subscriber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(ctx, ch); err != nil {
		t.Fatal(err)
	}
	// PUBLISH answers how many subscribers got the message.
	if n, err := raw(t).Publish(ctx, prefix+ch, "first").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH right after Subscribe reached %d subscribers (%v); want 1", n, err)
	}
	if ev := ephemeraltest.Receive(t, sub.Events()); ev.Channel != ch || string(ev.Payload) != "first" {
		t.Fatalf("event = %+v", ev)
	}
}
