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

func wait(t testing.TB, h *hub.Hub, channel string) *hub.Waiter {
	t.Helper()
	w, err := h.Wait(ephemeraltest.Context(t), channel)
	if err != nil {
		t.Fatalf("Wait(%s): %v", channel, err)
	}
	return w
}

func publish(t testing.TB, b core.Broker, channel, payload string) {
	t.Helper()
	if err := b.Publish(ephemeraltest.Context(t), channel, []byte(payload)); err != nil {
		t.Fatalf("Publish(%s): %v", channel, err)
	}
}

func receive(t testing.TB, w *hub.Waiter) string {
	t.Helper()
	select {
	case m := <-w.C:
		return string(m)
	case <-w.Resync:
		t.Fatal("Resync instead of a message")
	case <-time.After(receiveTimeout):
		t.Fatalf("no message within %v", receiveTimeout)
	}
	return ""
}

// flush returns once the hub has fanned out everything published before:
// a hub's events arrive in publish order on its one subscription, so when a
// marker published now has arrived, so has all that came before it.
func flush(t testing.TB, h *hub.Hub, b core.Broker) {
	t.Helper()
	marker := ephemeraltest.Name("flush")
	w := wait(t, h, marker)
	defer w.Close()
	publish(t, b, marker, "marker")
	if m := receive(t, w); m != "marker" {
		t.Fatalf("flush received %q", m)
	}
}

// unread returns what w has buffered, without waiting.
func unread(w *hub.Waiter) []string {
	var out []string
	for {
		select {
		case m := <-w.C:
			out = append(out, string(m))
		default:
			return out
		}
	}
}

func resyncSignalled(w *hub.Waiter) bool {
	select {
	case <-w.Resync:
		return true
	default:
		return false
	}
}

func TestWaiterGetsWhatIsPublishedAfterWait(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		w := wait(t, h, ch)
		defer w.Close()
		publish(t, b, ch, "one")
		publish(t, b, ch, "two")
		if m1, m2 := receive(t, w), receive(t, w); m1 != "one" || m2 != "two" {
			t.Fatalf("received %q, %q; want one, two in order", m1, m2)
		}
		if n := h.Waiting(); n != 1 {
			t.Fatalf("Waiting() = %d; want 1", n)
		}
	})
}

func TestTwoWaitersShareOneSubscription(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		w1, w2 := wait(t, h, ch), wait(t, h, ch)
		defer w1.Close()
		defer w2.Close()
		if n := b.subscribeCount(ch); n != 1 {
			t.Fatalf("the broker was asked to subscribe %d times; want once for both waiters", n)
		}
		if n := h.Waiting(); n != 1 {
			t.Fatalf("Waiting() = %d; want 1 channel", n)
		}
		publish(t, b, ch, "both")
		if m1, m2 := receive(t, w1), receive(t, w2); m1 != "both" || m2 != "both" {
			t.Fatalf("received %q, %q; want both to get it", m1, m2)
		}
	})
}

func TestClosingOneOfTwoKeepsTheOther(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		gone, kept := wait(t, h, ch), wait(t, h, ch)
		defer kept.Close()
		gone.Close()
		if n := h.Waiting(); n != 1 || !b.isSubscribed(ch) {
			t.Fatalf("after closing one of two: Waiting() = %d, subscribed = %v; want 1, true", n, b.isSubscribed(ch))
		}
		publish(t, b, ch, "still here")
		if m := receive(t, kept); m != "still here" {
			t.Fatalf("kept waiter received %q", m)
		}
		flush(t, h, b)
		if got := unread(gone); len(got) != 0 {
			t.Fatalf("a closed waiter received %q", got)
		}
	})
}

func TestLastCloseUnsubscribes(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		w1, w2 := wait(t, h, ch), wait(t, h, ch)
		if b.listeners != nil && b.listeners(ch) != 1 {
			t.Fatalf("the server counts %d listeners while two waiters wait; want 1 subscription", b.listeners(ch))
		}
		w1.Close()
		w2.Close()
		w2.Close() // a second Close does nothing
		if n := h.Waiting(); n != 0 {
			t.Fatalf("Waiting() = %d after the last Close; want 0", n)
		}
		if b.isSubscribed(ch) {
			t.Fatal("the channel is still subscribed after its last waiter closed")
		}
		if b.listeners != nil && b.listeners(ch) != 0 {
			t.Fatalf("the server still counts %d listeners after the last Close", b.listeners(ch))
		}
		publish(t, b, ch, "nobody")
		flush(t, h, b)
		if got := append(unread(w1), unread(w2)...); len(got) != 0 {
			t.Fatalf("closed waiters received %q", got)
		}
	})
}

func TestOverflowSignalsResync(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		w := wait(t, h, ch)
		defer w.Close()
		for i := range hub.WaiterBuffer {
			publish(t, b, ch, fmt.Sprint(i))
		}
		flush(t, h, b)
		if resyncSignalled(w) {
			t.Fatalf("Resync with %d unread messages; the buffer holds that many", hub.WaiterBuffer)
		}
		publish(t, b, ch, "one too many")
		flush(t, h, b)
		if !resyncSignalled(w) {
			t.Fatal("no Resync after the buffer overflowed: a message was lost silently")
		}
		got := unread(w)
		if len(got) != hub.WaiterBuffer || got[0] != "0" || got[len(got)-1] != fmt.Sprint(hub.WaiterBuffer-1) {
			t.Fatalf("buffered %q; want the first %d messages in order", got, hub.WaiterBuffer)
		}
		// Read again, the waiter gets new messages as before.
		publish(t, b, ch, "after")
		if m := receive(t, w); m != "after" {
			t.Fatalf("received %q after the resync", m)
		}
	})
}

func TestWaitAfterCloseIsErrClosed(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h := newHub(t, b)
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if _, err := h.Wait(ephemeraltest.Context(t), ephemeraltest.Name("ch")); !errors.Is(err, hub.ErrClosed) {
			t.Fatalf("Wait after Close = %v; want ErrClosed", err)
		}
	})
}

// TestConcurrentWaitAndClose: many waiters come and go on shared and own
// channels at once; each gets what is published after its Wait (or a
// Resync when others' messages crowd it out), nothing deadlocks, and at the
// end nothing is left subscribed.
func TestConcurrentWaitAndClose(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h := newHub(t, b)
		workers, rounds := 32, 30
		if b.listeners != nil {
			rounds = 10 // every Wait is a round trip to Redis
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
					w, err := h.Wait(ephemeraltest.Context(t), ch)
					if err != nil {
						t.Errorf("Wait: %v", err)
						return
					}
					mine := fmt.Sprintf("%d/%d", i, r)
					if err := b.Publish(ephemeraltest.Context(t), ch, []byte(mine)); err != nil {
						t.Errorf("Publish: %v", err)
						w.Close()
						return
					}
					if err := awaitOwn(w, mine); err != nil {
						t.Errorf("worker %d round %d on %s: %v", i, r, ch, err)
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
			t.Fatal("concurrent Wait/Close did not finish: deadlock")
		}
		if n := h.Waiting(); n != 0 {
			t.Fatalf("Waiting() = %d after every waiter closed; want 0", n)
		}
		if held := b.held(); len(held) != 0 {
			t.Fatalf("still subscribed after every waiter closed: %v", held)
		}
		if twice := b.subscribedTwice(); len(twice) != 0 {
			t.Fatalf("subscribed again while still subscribed: %v", twice)
		}
	})
}

// awaitOwn reads w until it sees mine or a Resync (which stands for
// messages it may have missed).
func awaitOwn(w *hub.Waiter, mine string) error {
	timeout := time.After(receiveTimeout)
	for {
		select {
		case m := <-w.C:
			if string(m) == mine {
				return nil
			}
		case <-w.Resync:
			return nil
		case <-timeout:
			return fmt.Errorf("%q published after Wait never arrived", mine)
		}
	}
}

// TestWaitRacingTheLastClose: a Wait that races with the last Close of the
// same channel still gets what is published after it returned, so the
// UNSUBSCRIBE of the leaving waiter never overtakes the new SUBSCRIBE.
func TestWaitRacingTheLastClose(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h := newHub(t, b)
		rounds := 1000
		if b.listeners != nil {
			rounds = 200
		}
		for r := range rounds {
			ch := ephemeraltest.Name("race")
			leaving := wait(t, h, ch)
			closed := make(chan struct{})
			go func() { leaving.Close(); close(closed) }()
			w := wait(t, h, ch)
			publish(t, b, ch, "after")
			select {
			case m := <-w.C:
				if string(m) != "after" {
					t.Fatalf("round %d: received %q", r, m)
				}
			case <-w.Resync:
				t.Fatalf("round %d: Resync instead of the message", r)
			case <-time.After(receiveTimeout):
				t.Fatalf("round %d: the message published after Wait returned was lost", r)
			}
			<-closed
			w.Close()
		}
		if n := h.Waiting(); n != 0 {
			t.Fatalf("Waiting() = %d; want 0", n)
		}
		if twice := b.subscribedTwice(); len(twice) != 0 {
			t.Fatalf("subscribed again while still subscribed: %v", twice)
		}
	})
}

// TestWaitWhileTheLastCloseUnsubscribes makes the race of
// TestWaitRacingTheLastClose certain: the Wait comes while the leaving
// waiter's UNSUBSCRIBE is on its way (held back 20 ms).
func TestWaitWhileTheLastCloseUnsubscribes(t *testing.T) {
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

		leaving := wait(t, h, ch)
		closed := make(chan struct{})
		go func() { leaving.Close(); close(closed) }()
		<-unsubscribing
		w := wait(t, h, ch)
		defer w.Close()
		<-closed
		publish(t, b, ch, "after")
		if m := receive(t, w); m != "after" {
			t.Fatalf("received %q", m)
		}
		if !b.isSubscribed(ch) || h.Waiting() != 1 {
			t.Fatalf("subscribed = %v, Waiting() = %d; want true, 1", b.isSubscribed(ch), h.Waiting())
		}
	})
}

// TestRedisConnectionLossSignalsResync kills the hub's pubsub connection:
// every waiter is told to resync, and messages flow again afterwards.
func TestRedisConnectionLossSignalsResync(t *testing.T) {
	t.Parallel()
	name := ephemeraltest.Name("approvald-hubtest")
	b := openRedis(t, name)
	h := newHub(t, b)
	a, c := ephemeraltest.Name("ch"), ephemeraltest.Name("ch")
	waiters := []*hub.Waiter{wait(t, h, a), wait(t, h, a), wait(t, h, c)}
	for _, w := range waiters {
		defer w.Close()
	}

	// Kill only our subscription: the server is shared with other tests.
	direct := rawRedis(t)
	id := pubsubClientID(t, direct, name)
	if err := direct.Do(ephemeraltest.Context(t), "client", "kill", "type", "pubsub", "id", id).Err(); err != nil {
		t.Fatal(err)
	}
	for i, w := range waiters {
		select {
		case <-w.Resync:
		case m := <-w.C:
			t.Fatalf("waiter %d received %q; want a Resync first", i, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("waiter %d got no Resync after its connection was killed", i)
		}
	}
	publish(t, b, a, "back")
	if m := receive(t, waiters[0]); m != "back" {
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

// BenchmarkFanOut measures one message from Publish to every waiter of its
// channel, on the in-process broker.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("waiters=%d", n), func(b *testing.B) {
			br := openInmem(b)
			h, ch, ctx := newHub(b, br), ephemeraltest.Name("bench"), context.Background()
			waiters := make([]*hub.Waiter, n)
			for i := range waiters {
				waiters[i] = wait(b, h, ch)
			}
			payload := []byte(`{"type":"status","status":"approved"}`)
			for b.Loop() {
				if err := br.Publish(ctx, ch, payload); err != nil {
					b.Fatal(err)
				}
				for _, w := range waiters {
					select {
					case <-w.C:
					case <-w.Resync:
						b.Fatal("Resync during the benchmark")
					}
				}
			}
		})
	}
}
