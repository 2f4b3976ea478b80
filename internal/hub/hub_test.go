package hub_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/inmem"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/testenv"
)

// receiveTimeout bounds every wait for a message; a healthy fan-out takes
// well under a millisecond.
const receiveTimeout = 5 * time.Second

// broker is one real broker under test, behind a spy.
type broker struct {
	*spy
	// listeners asks the server how many connections listen to channel;
	// nil for the in-process broker, which has no server to ask.
	listeners func(channel string) int64
}

// eachBroker runs fn as a parallel subtest on the in-process broker and on
// Redis (skipped without one).
func eachBroker(t *testing.T, fn func(t *testing.T, b broker)) {
	t.Parallel()
	t.Run("inmem", func(t *testing.T) {
		t.Parallel()
		fn(t, openInmem(t))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		fn(t, openRedis(t, ""))
	})
}

func openInmem(t testing.TB) broker {
	s := inmem.New(core.SystemClock{})
	t.Cleanup(func() { _ = s.Close() })
	return broker{spy: newSpy(s)}
}

// openRedis connects with a prefix of its own, so channel names are unique
// on the shared server; clientName, when set, names the connections.
func openRedis(t testing.TB, clientName string) broker {
	t.Helper()
	raw := testenv.RedisURL(t)
	if clientName != "" {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("client_name", clientName)
		u.RawQuery = q.Encode()
		raw = u.String()
	}
	prefix := ephemeraltest.Name("hubtest") + ":"
	c, err := redis.Open(ephemeraltest.Context(t), raw, redis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	direct := rawRedis(t)
	return broker{spy: newSpy(c), listeners: func(channel string) int64 {
		n, err := direct.PubSubNumSub(context.Background(), prefix+channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[prefix+channel]
	}}
}

// rawRedis is a plain go-redis client on the test server, to look behind ours.
func rawRedis(t testing.TB) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// spy passes everything to the real broker and remembers what the hub asked
// of its subscriber.
type spy struct {
	core.Broker
	mu         sync.Mutex
	subscribed map[string]bool
	subscribes map[string]int
	doubled    []string // channels subscribed again while still subscribed
	// beforeUnsubscribe, when set, runs before each Unsubscribe is passed on.
	beforeUnsubscribe func(channel string)
}

func newSpy(b core.Broker) *spy {
	return &spy{Broker: b, subscribed: map[string]bool{}, subscribes: map[string]int{}}
}

func (s *spy) Subscriber(ctx context.Context) (core.Subscriber, error) {
	sub, err := s.Broker.Subscriber(ctx)
	if err != nil {
		return nil, err
	}
	return &spySubscriber{Subscriber: sub, spy: s}, nil
}

// isSubscribed reports whether the hub holds a broker subscription to channel.
func (s *spy) isSubscribed(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribed[channel]
}

// held lists every channel the hub still holds a subscription to.
func (s *spy) held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for ch, on := range s.subscribed {
		if on {
			out = append(out, ch)
		}
	}
	return out
}

// subscribedTwice lists channels subscribed again before their unsubscribe.
func (s *spy) subscribedTwice() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doubled
}

func (s *spy) subscribeCount(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribes[channel]
}

type spySubscriber struct {
	core.Subscriber
	spy *spy
}

func (s *spySubscriber) Subscribe(ctx context.Context, channels ...string) error {
	err := s.Subscriber.Subscribe(ctx, channels...)
	s.spy.mu.Lock()
	defer s.spy.mu.Unlock()
	for _, ch := range channels {
		s.spy.subscribes[ch]++
		if err == nil {
			if s.spy.subscribed[ch] {
				s.spy.doubled = append(s.spy.doubled, ch)
			}
			s.spy.subscribed[ch] = true
		}
	}
	return err
}

func (s *spySubscriber) Unsubscribe(ctx context.Context, channels ...string) error {
	s.spy.mu.Lock()
	for _, ch := range channels {
		s.spy.subscribed[ch] = false
	}
	hook := s.spy.beforeUnsubscribe
	s.spy.mu.Unlock()
	if hook != nil {
		for _, ch := range channels {
			hook(ch)
		}
	}
	return s.Subscriber.Unsubscribe(ctx, channels...)
}

func newHub(t testing.TB, b core.Broker) *hub.Hub {
	t.Helper()
	h, err := hub.New(ephemeraltest.Context(t), b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func publish(t testing.TB, b core.Broker, channel, payload string) {
	t.Helper()
	if err := b.Publish(ephemeraltest.Context(t), channel, []byte(payload)); err != nil {
		t.Fatalf("Publish(%s): %v", channel, err)
	}
}

// flush returns once the hub has fanned out everything published before:
// a hub's events arrive in publish order on its one subscription, and its
// one fan-out goroutine tells each listener in that order, so when a marker
// published now has been told, so has all that came before it.
func flush(t testing.TB, h *hub.Hub, b core.Broker) {
	t.Helper()
	marker, r := ephemeraltest.Name("flush"), newRecorder()
	l := listen(t, h, marker, r)
	defer l.Close()
	publish(t, b, marker, "marker")
	if m := receive(t, r); m != "marker" {
		t.Fatalf("flush received %q", m)
	}
}

func TestListenerGetsWhatIsPublishedAfterListen(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch, r := newHub(t, b), ephemeraltest.Name("ch"), newRecorder()
		defer listen(t, h, ch, r).Close()
		publish(t, b, ch, "one")
		publish(t, b, ch, "two")
		if m1, m2 := receive(t, r), receive(t, r); m1 != "one" || m2 != "two" {
			t.Fatalf("received %q, %q; want one, two in order", m1, m2)
		}
		if n := h.Waiting(); n != 1 {
			t.Fatalf("Waiting() = %d; want 1", n)
		}
	})
}

func TestTwoListenersShareOneSubscription(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		r1, r2 := newRecorder(), newRecorder()
		defer listen(t, h, ch, r1).Close()
		defer listen(t, h, ch, r2).Close()
		if n := b.subscribeCount(ch); n != 1 {
			t.Fatalf("the broker was asked to subscribe %d times; want once for both listeners", n)
		}
		if n := h.Waiting(); n != 1 {
			t.Fatalf("Waiting() = %d; want 1 channel", n)
		}
		for _, m := range []string{"one", "two", "three"} {
			publish(t, b, ch, m)
		}
		for _, m := range []string{"one", "two", "three"} {
			if m1, m2 := receive(t, r1), receive(t, r2); m1 != m || m2 != m {
				t.Fatalf("received %q, %q; want both to get %s, in order", m1, m2, m)
			}
		}
	})
}

func TestClosingOneOfTwoKeepsTheOther(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		goneR, keptR := newRecorder(), newRecorder()
		gone, kept := listen(t, h, ch, goneR), listen(t, h, ch, keptR)
		defer kept.Close()
		gone.Close()
		if n := h.Waiting(); n != 1 || !b.isSubscribed(ch) {
			t.Fatalf("after closing one of two: Waiting() = %d, subscribed = %v; want 1, true", n, b.isSubscribed(ch))
		}
		publish(t, b, ch, "still here")
		if m := receive(t, keptR); m != "still here" {
			t.Fatalf("kept listener received %q", m)
		}
		flush(t, h, b)
		if got := goneR.unread(); len(got) != 0 {
			t.Fatalf("a closed listener was told %q", got)
		}
	})
}

func TestLastCloseUnsubscribes(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		r1, r2 := newRecorder(), newRecorder()
		l1, l2 := listen(t, h, ch, r1), listen(t, h, ch, r2)
		if b.listeners != nil && b.listeners(ch) != 1 {
			t.Fatalf("the server counts %d listeners while two listen here; want 1 subscription", b.listeners(ch))
		}
		l1.Close()
		l2.Close()
		l2.Close() // a second Close does nothing
		if n := h.Waiting(); n != 0 {
			t.Fatalf("Waiting() = %d after the last Close; want 0", n)
		}
		if b.isSubscribed(ch) {
			t.Fatal("the channel is still subscribed after its last listener closed")
		}
		if b.listeners != nil {
			// UNSUBSCRIBE is sent on the subscription's connection and not
			// answered: the server counts the listener until it has read it.
			deadline := time.Now().Add(5 * time.Second)
			for n := b.listeners(ch); n != 0; n = b.listeners(ch) {
				if time.Now().After(deadline) {
					t.Fatalf("the server still counts %d listeners 5 s after the last Close", n)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		publish(t, b, ch, "nobody")
		flush(t, h, b)
		if got := append(r1.unread(), r2.unread()...); len(got) != 0 {
			t.Fatalf("closed listeners were told %q", got)
		}
	})
}

func TestListenAfterCloseIsErrClosed(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h := newHub(t, b)
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if _, err := h.Listen(ephemeraltest.Context(t), ephemeraltest.Name("ch"), newRecorder()); !errors.Is(err, hub.ErrClosed) {
			t.Fatalf("Listen after Close = %v; want ErrClosed", err)
		}
	})
}

// TestConcurrentListenAndClose: many listeners come and go on shared and
// own channels at once; each is told what is published after its Listen
// (or a Resync, which stands for messages it may have missed), nothing
// deadlocks, and at the end nothing is left subscribed.
func TestConcurrentListenAndClose(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h := newHub(t, b)
		workers, rounds := 32, 30
		if b.listeners != nil {
			rounds = 10 // every Listen is a round trip to Redis
		}
		shared := []string{ephemeraltest.Name("shared"), ephemeraltest.Name("shared"), ephemeraltest.Name("shared")}
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				own := ephemeraltest.Name("own")
				for r := range rounds {
					ch := own
					if (i+r)%2 == 0 {
						ch = shared[(i+r)%len(shared)]
					}
					mine := fmt.Sprintf("%d/%d", i, r)
					a := &awaiter{want: mine, got: make(chan struct{})}
					w, err := h.Listen(ephemeraltest.Context(t), ch, a)
					if err != nil {
						t.Errorf("Listen: %v", err)
						return
					}
					if err := b.Publish(ephemeraltest.Context(t), ch, []byte(mine)); err != nil {
						t.Errorf("Publish: %v", err)
						w.Close()
						return
					}
					select {
					case <-a.got:
					case <-time.After(receiveTimeout):
						t.Errorf("worker %d round %d on %s: %q published after Listen never arrived", i, r, ch, mine)
					}
					w.Close()
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("concurrent Listen/Close did not finish: deadlock")
		}
		if n := h.Waiting(); n != 0 {
			t.Fatalf("Waiting() = %d after every listener closed; want 0", n)
		}
		if held := b.held(); len(held) != 0 {
			t.Fatalf("still subscribed after every listener closed: %v", held)
		}
		if twice := b.subscribedTwice(); len(twice) != 0 {
			t.Fatalf("subscribed again while still subscribed: %v", twice)
		}
	})
}

// awaiter is a Listener that waits for one message among others': got is
// closed when want, or a Resync, arrives. It never blocks the fan-out.
type awaiter struct {
	want string
	got  chan struct{}
	once sync.Once
}

func (a *awaiter) Message(p []byte) {
	if string(p) == a.want {
		a.once.Do(func() { close(a.got) })
	}
}
func (a *awaiter) Resync() { a.once.Do(func() { close(a.got) }) }
func (a *awaiter) Broken() {}

// TestListenRacingTheLastClose: a Listen that races with the last Close of
// the same channel is still told what is published after it returned, so
// the UNSUBSCRIBE of the leaving listener never overtakes the new SUBSCRIBE.
func TestListenRacingTheLastClose(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h := newHub(t, b)
		rounds := 1000
		if b.listeners != nil {
			rounds = 200
		}
		for r := range rounds {
			ch := ephemeraltest.Name("race")
			leaving := listen(t, h, ch, newRecorder())
			closed := make(chan struct{})
			go func() { leaving.Close(); close(closed) }()
			rec := newRecorder()
			l := listen(t, h, ch, rec)
			publish(t, b, ch, "after")
			if e := rec.next(t); e != "message after" {
				t.Fatalf("round %d: told %q; want the message published after Listen returned", r, e)
			}
			<-closed
			l.Close()
		}
		if n := h.Waiting(); n != 0 {
			t.Fatalf("Waiting() = %d; want 0", n)
		}
		if twice := b.subscribedTwice(); len(twice) != 0 {
			t.Fatalf("subscribed again while still subscribed: %v", twice)
		}
	})
}

// TestListenWhileTheLastCloseUnsubscribes makes the race of
// TestListenRacingTheLastClose certain: the Listen comes while the leaving
// listener's UNSUBSCRIBE is on its way (held back 20 ms).
func TestListenWhileTheLastCloseUnsubscribes(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		unsubscribing := make(chan struct{})
		var once sync.Once
		b.mu.Lock()
		b.beforeUnsubscribe = func(string) {
			once.Do(func() {
				close(unsubscribing)
				time.Sleep(20 * time.Millisecond)
			})
		}
		b.mu.Unlock()

		leaving := listen(t, h, ch, newRecorder())
		closed := make(chan struct{})
		go func() { leaving.Close(); close(closed) }()
		<-unsubscribing
		r := newRecorder()
		defer listen(t, h, ch, r).Close()
		<-closed
		publish(t, b, ch, "after")
		if m := receive(t, r); m != "after" {
			t.Fatalf("received %q", m)
		}
		if !b.isSubscribed(ch) || h.Waiting() != 1 {
			t.Fatalf("subscribed = %v, Waiting() = %d; want true, 1", b.isSubscribed(ch), h.Waiting())
		}
	})
}

// TestRedisConnectionLossResyncsEveryListener kills the hub's pubsub
// connection: every listener, on every channel, is told to resync, and
// messages flow again afterwards.
func TestRedisConnectionLossResyncsEveryListener(t *testing.T) {
	t.Parallel()
	name := ephemeraltest.Name("approvald-hubtest")
	b := openRedis(t, name)
	h := newHub(t, b)
	a, c := ephemeraltest.Name("ch"), ephemeraltest.Name("ch")
	rs := []*recorder{newRecorder(), newRecorder(), newRecorder()}
	for i, ch := range []string{a, a, c} {
		defer listen(t, h, ch, rs[i]).Close()
	}

	// Kill only our subscription: the server is shared with other tests.
	direct := rawRedis(t)
	id := pubsubClientID(t, direct, name)
	if err := direct.Do(ephemeraltest.Context(t), "client", "kill", "type", "pubsub", "id", id).Err(); err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if e := r.next(t); e != "resync" {
			t.Fatalf("listener %d was told %q after its connection was killed; want resync first", i, e)
		}
	}
	publish(t, b, a, "back")
	if m := receive(t, rs[0]); m != "back" {
		t.Fatalf("received %q after the reconnect", m)
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

// BenchmarkFanOut measures one message from Publish to every listener of
// its channel, on the in-process broker.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("listeners=%d", n), func(b *testing.B) {
			br := openInmem(b)
			h, ch, ctx := newHub(b, br), ephemeraltest.Name("bench"), context.Background()
			sinks := make([]sink, n)
			for i := range sinks {
				sinks[i] = make(sink, 1)
				listen(b, h, ch, sinks[i])
			}
			payload := []byte(`{"type":"status","status":"approved"}`)
			for b.Loop() {
				if err := br.Publish(ctx, ch, payload); err != nil {
					b.Fatal(err)
				}
				for _, s := range sinks {
					if m := <-s; m == nil {
						b.Fatal("Resync or Broken during the benchmark")
					}
				}
			}
		})
	}
}

// sink is a Listener that hands each message on, and nil for a Resync or a
// Broken: the benchmarks' listener, at the cost of one send.
type sink chan []byte

func (s sink) Message(p []byte) { s <- p }
func (s sink) Resync()          { s <- nil }
func (s sink) Broken()          { s <- nil }
