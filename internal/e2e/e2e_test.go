package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// send posts one message to the inbox as approvald's webhook provider does
// and returns the status (0 when the request failed).
func send(in *Inbox, to, body string) int {
	res, err := http.Post(in.URL, "application/json", strings.NewReader(`{"to":"`+to+`","body":"`+body+`"}`))
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func text(t *testing.T, in *Inbox, to, body string) int {
	t.Helper()
	st := send(in, to, body)
	if st == 0 {
		t.Fatalf("the inbox did not answer")
	}
	return st
}

func TestInboxCodes(t *testing.T) {
	in := NewInbox(t)
	const phone = "+12015550100"
	if st := text(t, in, phone, "Your approvald code is 111111."); st != http.StatusAccepted {
		t.Fatalf("status %d", st)
	}
	text(t, in, phone, "approvald: a device was added")
	text(t, in, phone, "Your approvald code is 222222.")
	text(t, in, "+12015550199", "Your approvald code is 999999.")

	if got := in.NextCode(t, phone); got != "111111" {
		t.Fatalf("NextCode = %s, want the oldest unread", got)
	}
	if got := in.LastCode(t, phone); got != "222222" {
		t.Fatalf("LastCode = %s, want the newest", got)
	}
	if got := in.Codes(phone); len(got) != 2 || got[1] != "222222" {
		t.Fatalf("Codes = %q", got)
	}
	// LastCode saw 222222: the next NextCode waits for a newer code.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if code, err := in.WaitCode(ctx, phone); err == nil {
		t.Fatalf("WaitCode returned %s, already seen", code)
	}
	go send(in, phone, "Your approvald code is 333333.")
	if got := in.NextCode(t, phone); got != "333333" {
		t.Fatalf("NextCode = %s, want the new one", got)
	}
	if got := in.WaitMessages(t, phone, 4); len(got) != 4 {
		t.Fatalf("WaitMessages = %q", got)
	}

	in.SetFailing(true)
	if st := text(t, in, phone, "Your approvald code is 444444."); st != http.StatusBadGateway {
		t.Fatalf("a failing gateway answered %d", st)
	}
	if n := len(in.Messages(phone)); n != 4 {
		t.Fatalf("%d messages kept, want 4 (none while failing)", n)
	}
	res, err := http.Post(in.URL, "application/json", strings.NewReader("not json"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a message that is not JSON answered %d", res.StatusCode)
	}
}

func TestInboxHold(t *testing.T) {
	in := NewInbox(t)
	arrived, release := in.Hold()
	done := make(chan int, 1)
	go func() { done <- send(in, "+12015550100", "held") }()
	if to := <-arrived; to != "+12015550100" {
		t.Fatalf("held message to %s", to)
	}
	select {
	case <-done:
		t.Fatal("a held message was answered before the release")
	default:
	}
	release()
	if st := <-done; st != http.StatusAccepted {
		t.Fatalf("status %d after the release", st)
	}
}

// The listening line is found in writes cut anywhere, and what comes
// around it goes to the log.
func TestLineWatcher(t *testing.T) {
	rest := &Buffer{}
	w := &lineWatcher{found: make(chan []string, 1), rest: rest}
	out := "before\napprovald is listening on 127.0.0.1:4242 — open http://127.0.0.1:4242\nafter\n"
	for i := range len(out) {
		if _, err := w.Write([]byte(out[i : i+1])); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case m := <-w.found:
		if m[1] != "127.0.0.1:4242" || m[2] != "http://127.0.0.1:4242" {
			t.Fatalf("found %q", m)
		}
	default:
		t.Fatal("the listening line was not found")
	}
	if rest.String() != "before\nafter\n" {
		t.Fatalf("rest %q", rest.String())
	}
}

func TestBufferLimit(t *testing.T) {
	b := &Buffer{Limit: 4}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if b.String() != "defg" {
		t.Fatalf("kept %q, want the last 4 bytes", b.String())
	}
	var all Buffer
	all.Write(bytes.Repeat([]byte("x"), 10))
	if len(all.String()) != 10 {
		t.Fatal("an unlimited buffer dropped bytes")
	}
}
