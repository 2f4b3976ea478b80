package hub_test

import (
	"context"
	"errors"
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

// heldPinger fails its first ping once the test lets it, and never answers
// the later ones.
type heldPinger struct {
	sent    chan int // the number of each ping, as it is sent
	release chan struct{}
	n       int
}

func (p *heldPinger) Ping(ctx context.Context) error {
	p.n++
	p.sent <- p.n
	if p.n > 1 {
		<-ctx.Done()
		return nil // as if it answered: only the first one fails
	}
	<-p.release
	return errors.New("no answer")
}

// A ping that fails breaks the listeners that were there when it was sent,
// not one that joined while it was on its way: that one was subscribed by
// a broker that answered (reproduced: a browser that reconnected just
// after Redis came back was closed by the ping sent during the outage).
func TestAFailedPingBreaksOnlyEarlierListeners(t *testing.T) {
	t.Parallel()
	h := newHub(t, openInmem(t))
	before, after := newRecorder(), newRecorder()
	defer listen(t, h, ephemeraltest.Name("ch"), before).Close()

	p := &heldPinger{sent: make(chan int, 2), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Watch(ctx, p, time.Millisecond)
	if n := <-p.sent; n != 1 {
		t.Fatalf("ping %d first", n)
	}
	defer listen(t, h, ephemeraltest.Name("ch"), after).Close()
	close(p.release)
	if got := before.next(t); got != "broken" {
		t.Fatalf("the earlier listener was told %q, want broken", got)
	}
	// The second ping is sent once the first one's listeners were told.
	if n := <-p.sent; n != 2 {
		t.Fatalf("ping %d second", n)
	}
	if got := after.unread(); len(got) != 0 {
		t.Fatalf("the listener that joined after the failed ping was sent was told %q", got)
	}
}
