package ephemeraltest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// receiveTimeout bounds every wait for an event; a healthy round trip takes
// well under a millisecond.
const receiveTimeout = 5 * time.Second

// TestBroker checks the core.Broker and core.Subscriber contract.
func TestBroker(t *testing.T, newBroker NewBroker) {
	t.Run("OneSubscriberPerProcess", func(t *testing.T) {
		t.Parallel()
		b, ctx := newBroker(t), Context(t)
		first := subscriber(t, b)
		again, err := b.Subscriber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if first != again {
			t.Fatal("Subscriber returned a second subscription; want the same one")
		}
	})

	t.Run("ReceivesAfterSubscribe", func(t *testing.T) {
		t.Parallel()
		b, ctx, ch := newBroker(t), Context(t), Name("ch")
		sub := subscriber(t, b)
		if err := sub.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		payload := []byte{'o', 'k', 0, 0xff} // binary-safe
		if err := b.Publish(ctx, ch, payload); err != nil {
			t.Fatal(err)
		}
		ev := Receive(t, sub.Events())
		if ev.Channel != ch || string(ev.Payload) != string(payload) || ev.Resubscribed {
			t.Fatalf("event = %+v; want %q on %s", ev, payload, ch)
		}
	})

	t.Run("NothingAfterUnsubscribe", func(t *testing.T) {
		t.Parallel()
		b, ctx, gone, marker := newBroker(t), Context(t), Name("ch"), Name("ch")
		sub := subscriber(t, b)
		if err := sub.Subscribe(ctx, gone, marker); err != nil {
			t.Fatal(err)
		}
		if err := sub.Unsubscribe(ctx, gone); err != nil {
			t.Fatal(err)
		}
		publish(t, b, gone, "lost")
		// Events of one subscription arrive in publish order, so once the
		// marker is here, "lost" would have been too.
		publish(t, b, marker, "marker")
		if ev := Receive(t, sub.Events()); ev.Channel != marker {
			t.Fatalf("received %+v after Unsubscribe; want only the marker", ev)
		}
	})

	t.Run("ManyChannelsOneSubscriber", func(t *testing.T) {
		t.Parallel()
		b, ctx := newBroker(t), Context(t)
		sub := subscriber(t, b)
		var channels []string
		for range 40 {
			channels = append(channels, Name("ch"))
		}
		if err := sub.Subscribe(ctx, channels[:30]...); err != nil {
			t.Fatal(err)
		}
		for _, ch := range channels[30:] {
			if err := sub.Subscribe(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}
		for _, ch := range channels {
			publish(t, b, ch, "to "+ch)
		}
		got := map[string]string{}
		for range channels {
			ev := Receive(t, sub.Events())
			if _, dup := got[ev.Channel]; dup {
				t.Fatalf("second event on %s", ev.Channel)
			}
			got[ev.Channel] = string(ev.Payload)
		}
		for _, ch := range channels {
			if got[ch] != "to "+ch {
				t.Fatalf("on %s received %q; want %q", ch, got[ch], "to "+ch)
			}
		}
	})

	t.Run("Concurrent200ChannelsLoseNothing", func(t *testing.T) {
		t.Parallel()
		const channels, perChannel = 200, 5
		b, ctx := newBroker(t), Context(t)
		sub := subscriber(t, b)
		names := make([]string, channels)
		for i := range names {
			names[i] = Name("ch")
		}

		received := make(chan map[string][]string, 1)
		go func() {
			got := map[string][]string{}
			timeout := time.After(30 * time.Second)
			for n := 0; n < channels*perChannel; {
				select {
				case ev, ok := <-sub.Events():
					if !ok {
						received <- got
						return
					}
					if !ev.Resubscribed {
						got[ev.Channel] = append(got[ev.Channel], string(ev.Payload))
						n++
					}
				case <-timeout:
					received <- got
					return
				}
			}
			received <- got
		}()

		var wg sync.WaitGroup
		for _, ch := range names {
			wg.Go(func() {
				if err := sub.Subscribe(ctx, ch); err != nil {
					t.Error(err)
					return
				}
				for j := range perChannel {
					if err := b.Publish(ctx, ch, fmt.Appendf(nil, "%d", j)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		got := <-received
		for _, ch := range names {
			if want := []string{"0", "1", "2", "3", "4"}; fmt.Sprint(got[ch]) != fmt.Sprint(want) {
				t.Fatalf("on %s received %v; want %v in order (lost or reordered)", ch, got[ch], want)
			}
		}
	})

	t.Run("ConcurrentSubscribeUnsubscribe", func(t *testing.T) {
		t.Parallel()
		b, ctx := newBroker(t), Context(t)
		sub := subscriber(t, b)
		names := make([]string, 50)
		for i := range names {
			names[i] = Name("ch")
		}
		var wg sync.WaitGroup
		for _, ch := range names {
			wg.Go(func() {
				for range 10 {
					if err := sub.Subscribe(ctx, ch); err != nil {
						t.Error(err)
					}
					if err := sub.Unsubscribe(ctx, ch); err != nil {
						t.Error(err)
					}
				}
				if err := sub.Subscribe(ctx, ch); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, ch := range names {
			publish(t, b, ch, "after churn")
		}
		seen := map[string]bool{}
		for range names {
			seen[Receive(t, sub.Events()).Channel] = true
		}
		for _, ch := range names {
			if !seen[ch] {
				t.Fatalf("nothing received on %s after the churn", ch)
			}
		}
	})

	t.Run("CloseEndsEventsAndANewSubscriberWorks", func(t *testing.T) {
		t.Parallel()
		b, ctx, ch := newBroker(t), Context(t), Name("ch")
		sub := subscriber(t, b)
		if err := sub.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		drained := time.After(receiveTimeout)
	drain:
		for {
			select {
			case _, ok := <-sub.Events():
				if !ok {
					break drain
				}
			case <-drained:
				t.Fatal("Events still open after Close")
			}
		}
		if err := sub.Subscribe(ctx, ch); err == nil {
			t.Fatal("Subscribe on a closed subscriber: no error")
		}
		fresh := subscriber(t, b)
		if fresh == sub {
			t.Fatal("Subscriber after Close returned the closed one")
		}
		if err := fresh.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		publish(t, b, ch, "again")
		if ev := Receive(t, fresh.Events()); ev.Channel != ch || string(ev.Payload) != "again" {
			t.Fatalf("event = %+v", ev)
		}
	})
}

// Receive returns the next message from events, skipping Resubscribed
// notices (another test on the shared Redis may cut every subscription),
// and fails t when none comes in time.
func Receive(t testing.TB, events <-chan core.BrokerMessage) core.BrokerMessage {
	t.Helper()
	timeout := time.After(receiveTimeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("Events closed")
			}
			if !ev.Resubscribed {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event within %v", receiveTimeout)
		}
	}
}

func subscriber(t testing.TB, b core.Broker) core.Subscriber {
	t.Helper()
	sub, err := b.Subscriber(Context(t))
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func publish(t testing.TB, b core.Broker, channel, payload string) {
	t.Helper()
	if err := b.Publish(Context(t), channel, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}
