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
		w := wait(t, h, ch)
		defer w.Close()
		r := newRecorder()
		l := listen(t, h, ch, r)
		defer l.Close()

		h.Deliver(ch, []byte("decided"))
		// Before anything is published, both have it.
		if m := receive(t, w); m != "decided" {
			t.Fatalf("waiter received %q; want the delivered message", m)
		}
		if e := r.next(t); e != "message decided" {
			t.Fatalf("listener got %q; want the delivered message", e)
		}
		// The broker's copy is dropped; what else is published is not.
		publish(t, b, ch, "decided")
		publish(t, b, ch, "later")
		flush(t, h, b)
		if got := unread(w); !slices.Equal(got, []string{"later"}) {
			t.Fatalf("waiter then received %q; want only [later]", got)
		}
		if e := r.next(t); e != "message later" {
			t.Fatalf("listener then got %q; want the later message only", e)
		}
		// A second, identical message from the broker is someone else's.
		publish(t, b, ch, "decided")
		if m := receive(t, w); m != "decided" {
			t.Fatalf("waiter received %q; want the repeated message", m)
		}
	})
}

func TestDeliverWithoutWaitersLeavesTheBrokerCopy(t *testing.T) {
	eachBroker(t, func(t *testing.T, b broker) {
		h, ch := newHub(t, b), ephemeraltest.Name("ch")
		h.Deliver(ch, []byte("nobody here"))
		w := wait(t, h, ch)
		defer w.Close()
		publish(t, b, ch, "nobody here")
		if m := receive(t, w); m != "nobody here" {
			t.Fatalf("received %q; want the broker's message, which no one had", m)
		}
	})
}

// TestDeliverReachesOtherInstancesThroughTheBroker: two processes on one
// Redis; what one delivers and publishes, the other's waiters get once.
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
	here, there := wait(t, hubs[0], ch), wait(t, hubs[1], ch)
	defer here.Close()
	defer there.Close()

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
	if got := append(unread(here), unread(there)...); len(got) != 0 {
		t.Fatalf("received again: %q", got)
	}
}
