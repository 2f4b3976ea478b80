package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/testenv"
)

// recorder is a Listener that writes down what it is told.
type recorder struct{ events chan string }

func newRecorder() *recorder { return &recorder{events: make(chan string, 64)} }

func (r *recorder) Message(p []byte) { r.events <- "message " + string(p) }
func (r *recorder) Resync()          { r.events <- "resync" }
func (r *recorder) Broken()          { r.events <- "broken" }

func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(receiveTimeout):
		t.Fatalf("no event within %v", receiveTimeout)
		return ""
	}
}

func listen(t *testing.T, h *hub.Hub, channel string, r *recorder) *hub.Waiter {
	t.Helper()
	w, err := h.Listen(ephemeraltest.Context(t), channel, r)
	if err != nil {
		t.Fatalf("Listen(%s): %v", channel, err)
	}
	if w.C != nil || w.Resync != nil || w.Broken != nil {
		t.Fatal("a listener's Waiter has channels")
	}
	return w
}

func TestListenerGetsMessagesInOrderBesideAWaiter(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h := newHub(t, b)
		ch := ephemeraltest.Name("ch")
		r := newRecorder()
		l := listen(t, h, ch, r)
		w := wait(t, h, ch)
		defer w.Close()
		if n := h.Listeners(ch); n != 2 {
			t.Fatalf("Listeners = %d, want 2 (the listener counts)", n)
		}
		for _, m := range []string{"one", "two", "three"} {
			publish(t, b, ch, m)
		}
		for _, m := range []string{"one", "two", "three"} {
			if got := r.next(t); got != "message "+m {
				t.Fatalf("listener got %q, want message %s", got, m)
			}
			if got := receive(t, w); got != m {
				t.Fatalf("waiter got %q, want %s", got, m)
			}
		}
		l.Close()
		publish(t, b, ch, "after")
		if got := receive(t, w); got != "after" {
			t.Fatalf("waiter got %q", got)
		}
		flush(t, h, b.Broker)
		select {
		case e := <-r.events:
			t.Fatalf("a closed listener was told %q", e)
		default:
		}
	})
}

func TestListenerResyncsAfterTheConnectionWasLost(t *testing.T) {
	t.Parallel()
	name := ephemeraltest.Name("approvald-hubtest")
	b := openRedis(t, name)
	h := newHub(t, b)
	ch := ephemeraltest.Name("ch")
	r := newRecorder()
	defer listen(t, h, ch, r).Close()

	direct := rawRedis(t)
	id := pubsubClientID(t, direct, name)
	if err := direct.Do(ephemeraltest.Context(t), "client", "kill", "type", "pubsub", "id", id).Err(); err != nil {
		t.Fatal(err)
	}
	if got := r.next(t); got != "resync" {
		t.Fatalf("after the connection loss the listener got %q, want resync", got)
	}
	publish(t, b, ch, "back")
	if got := r.next(t); got != "message back" {
		t.Fatalf("after the reconnect the listener got %q", got)
	}
}

func TestListenerIsToldOnceWhenTheBrokerStopsAnswering(t *testing.T) {
	t.Parallel()
	b := openInmem(t)
	h := newHub(t, b)
	r := newRecorder()
	defer listen(t, h, ephemeraltest.Name("ch"), r).Close()

	// A real Redis client that was closed answers no ping.
	c, err := redis.Open(ephemeraltest.Context(t), testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Watch(ctx, c, 10*time.Millisecond)
	if got := r.next(t); got != "broken" {
		t.Fatalf("listener got %q, want broken", got)
	}
	time.Sleep(50 * time.Millisecond) // several more failed pings
	select {
	case e := <-r.events:
		t.Fatalf("listener was told %q after broken", e)
	default:
	}
}
