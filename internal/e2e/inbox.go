package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"time"
)

// Inbox is the far end of SMS_PROVIDER=webhook: it speaks the webhook's
// wire format ({"to", "body"} POSTed as JSON) and keeps every message.
type Inbox struct {
	URL string

	srv     *httptest.Server
	mu      sync.Mutex
	msgs    map[string][]string // phone → bodies, oldest first
	read    map[string]int      // phone → how many of its messages NextCode, WaitCode and LastCode have passed
	arrived chan struct{}       // closed and replaced on each message
	fail    bool
	// held, when set, receives the phone of each message and holds the
	// gateway's answer until release is closed (senders stuck mid-request).
	held    chan string
	release chan struct{}
}

// NewInbox starts an inbox that stops when tb ends.
func NewInbox(tb TB) *Inbox {
	tb.Helper()
	in := &Inbox{msgs: map[string][]string{}, read: map[string]int{}, arrived: make(chan struct{})}
	in.srv = httptest.NewServer(http.HandlerFunc(in.receive))
	tb.Cleanup(in.srv.Close)
	in.URL = in.srv.URL
	return in
}

func (in *Inbox) receive(w http.ResponseWriter, r *http.Request) {
	var m struct{ To, Body string }
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil || m.To == "" {
		http.Error(w, "want a JSON {to, body} POST", http.StatusBadRequest)
		return
	}
	in.mu.Lock()
	held, release := in.held, in.release
	in.mu.Unlock()
	if held != nil {
		held <- m.To
		<-release
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.fail {
		http.Error(w, "gateway down", http.StatusBadGateway)
		return
	}
	in.msgs[m.To] = append(in.msgs[m.To], m.Body)
	close(in.arrived)
	in.arrived = make(chan struct{})
	w.WriteHeader(http.StatusAccepted)
}

// Messages returns the bodies of every message sent to phone so far.
func (in *Inbox) Messages(phone string) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.msgs[phone]...)
}

// WaitMessages waits (up to 10 s) until phone has been sent at least n
// messages, and returns them all.
func (in *Inbox) WaitMessages(tb TB, phone string, n int) []string {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		msgs, arrived := append([]string(nil), in.msgs[phone]...), in.arrived
		in.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-arrived:
		case <-deadline:
			tb.Fatalf("%d messages to %s within 10 s, want %d: %q", len(msgs), phone, n, msgs)
		}
	}
}

var codeInSMS = regexp.MustCompile(`code is (\d{6})\b`)

// Codes returns the codes of the code messages sent to phone so far,
// oldest first.
func (in *Inbox) Codes(phone string) []string {
	var codes []string
	for _, m := range in.Messages(phone) {
		if c := codeInSMS.FindStringSubmatch(m); c != nil {
			codes = append(codes, c[1])
		}
	}
	return codes
}

// LastCode returns the code of the newest code message sent to phone so
// far (it does not wait): for codes texted before the answer to the
// request that asked for them (signup, an SMS login). A later NextCode
// waits for a message newer than those LastCode saw.
func (in *Inbox) LastCode(tb TB, phone string) string {
	tb.Helper()
	in.mu.Lock()
	msgs := append([]string(nil), in.msgs[phone]...)
	in.read[phone] = len(msgs)
	in.mu.Unlock()
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := codeInSMS.FindStringSubmatch(msgs[i]); m != nil {
			return m[1]
		}
	}
	tb.Fatalf("no code was texted to %s (messages: %q)", phone, msgs)
	return ""
}

// NextCode waits (up to 10 s) for the next code message to phone that no
// earlier NextCode, WaitCode or LastCode has seen, and returns its code.
func (in *Inbox) NextCode(tb TB, phone string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := in.WaitCode(ctx, phone)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return code
}

// WaitCode is NextCode that waits until ctx ends and returns an error
// instead of failing a test.
func (in *Inbox) WaitCode(ctx context.Context, phone string) (string, error) {
	for {
		in.mu.Lock()
		msgs := in.msgs[phone]
		for in.read[phone] < len(msgs) {
			m := msgs[in.read[phone]]
			in.read[phone]++
			if c := codeInSMS.FindStringSubmatch(m); c != nil {
				in.mu.Unlock()
				return c[1], nil
			}
		}
		arrived := in.arrived
		in.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return "", fmt.Errorf("no code texted to %s: %w", phone, ctx.Err())
		}
	}
}

// SetFailing makes the gateway answer 502 to every message (and keep none).
func (in *Inbox) SetFailing(fail bool) {
	in.mu.Lock()
	in.fail = fail
	in.mu.Unlock()
}

// Hold makes the gateway keep every sender waiting until release is
// called; arrived receives the phone of each message held.
func (in *Inbox) Hold() (arrived <-chan string, release func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.held, in.release = make(chan string, 100), make(chan struct{})
	return in.held, sync.OnceFunc(func() { close(in.release) })
}
