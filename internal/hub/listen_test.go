package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/testenv"
)

// recorder is a Listener that writes down what it is told. Its buffer
// holds more than any test sends it; a full one would hold up the hub.
type recorder struct{ events chan string }

func newRecorder() *recorder { return &recorder{events: make(chan string, 64)} }

func (r *recorder) Message(p []byte) { r.events <- "message " + string(p) }
func (r *recorder) Resync()          { r.events <- "resync" }
func (r *recorder) Broken()          { r.events <- "broken" }

// next is the next event, waited for.
func (r *recorder) next(t testing.TB) string {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(receiveTimeout):
		t.Fatalf("no event within %v", receiveTimeout)
		return ""
	}
}

// unread returns the events r was told and not yet read, without waiting.
func (r *recorder) unread() []string {
	var out []string
	for {
		select {
		case e := <-r.events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// receive waits for r's next event, which must be a message, and returns it.
func receive(t testing.TB, r *recorder) string {
	t.Helper()
	e := r.next(t)
	m, ok := strings.CutPrefix(e, "message ")
	if !ok {
		t.Fatalf("told %q instead of a message", e)
	}
	return m
}

func listen(t testing.TB, h *hub.Hub, channel string, l hub.Listener) *hub.Waiter {
	t.Helper()
	w, err := h.Listen(ephemeraltest.Context(t), channel, l)
	if err != nil {
		t.Fatalf("Listen(%s): %v", channel, err)
	}
	return w
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
