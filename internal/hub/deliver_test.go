package hub_test

import (
	"slices"
	"testing"

	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/hub"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/testenv"
)

func TestDeliverAheadOfTheBrokerAndNotTwice(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		r1, r2 := newRecorder(), newRecorder()
		defer listen(t, h, ch, r1).Close()
		defer listen(t, h, ch, r2).Close()

		h.Deliver(ch, []byte("decided"))
		// Before anything is published, both have it.
		for i, r := range []*recorder{r1, r2} {
			if e := r.next(t); e != "message decided" {
				t.Fatalf("listener %d got %q; want the delivered message", i, e)
			}
		}
		// The broker's copy is dropped; what else is published is not.
		publish(t, b, ch, "decided")
		publish(t, b, ch, "later")
		flush(t, h, b)
		for i, r := range []*recorder{r1, r2} {
			if got := r.unread(); !slices.Equal(got, []string{"message later"}) {
				t.Fatalf("listener %d then got %q; want only [message later]", i, got)
			}
		}
		// A second, identical message from the broker is someone else's.
		publish(t, b, ch, "decided")
		if m := receive(t, r1); m != "decided" {
			t.Fatalf("received %q; want the repeated message", m)
		}
	})
}

func TestDeliverWithoutListenersLeavesTheBrokerCopy(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		h.Deliver(ch, []byte("nobody here"))
		r := newRecorder()
		defer listen(t, h, ch, r).Close()
		publish(t, b, ch, "nobody here")
		if m := receive(t, r); m != "nobody here" {
			t.Fatalf("received %q; want the broker's message, which no one had", m)
		}
	})
}

// TestDeliverReachesOtherInstancesThroughTheBroker: two processes on one
// Redis; what one delivers and publishes, the other's listeners get once.
func TestDeliverReachesOtherInstancesThroughTheBroker(t *testing.T) {
	t.Parallel()
	raw, prefix := testenv.RedisURL(t), ephemeraltest.Name("hubtest")+":"
	var hubs [2]*hub.Hub
	var clients [2]*redis.Client
	for i := range hubs {
		c, err := redis.Open(ephemeraltest.Context(t), raw, redis.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		clients[i], hubs[i] = c, newHub(t, c)
	}
	ch := ephemeraltest.Name("ch")
	here, there := newRecorder(), newRecorder()
	defer listen(t, hubs[0], ch, here).Close()
	defer listen(t, hubs[1], ch, there).Close()

	hubs[0].Deliver(ch, []byte("decided"))
	publish(t, clients[0], ch, "decided")
	if m := receive(t, here); m != "decided" {
		t.Fatalf("this instance received %q", m)
	}
	if m := receive(t, there); m != "decided" {
		t.Fatalf("the other instance received %q", m)
	}
	flush(t, hubs[0], clients[0])
	flush(t, hubs[1], clients[1])
	if got := append(here.unread(), there.unread()...); len(got) != 0 {
		t.Fatalf("received again: %q", got)
	}
}
