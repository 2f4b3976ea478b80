package authtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"
)

// SMS is one message the server sent.
type SMS struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

// SMSInbox is the far end of SMS_PROVIDER=webhook: it speaks the webhook's
// wire format ({"to", "body"} POSTed as JSON) and keeps every message.
type SMSInbox struct {
	URL string

	mu      sync.Mutex
	msgs    []SMS
	read    map[string]int // phone → how many of its messages NextCode has passed
	arrived chan struct{}  // closed and replaced on each message
}

// NewSMSInbox starts an inbox that stops when t ends.
func NewSMSInbox(t testing.TB) *SMSInbox {
	in := &SMSInbox{read: map[string]int{}, arrived: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m SMS
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil || m.To == "" {
			http.Error(w, "want a JSON {to, body} POST", http.StatusBadRequest)
			return
		}
		in.mu.Lock()
		in.msgs = append(in.msgs, m)
		close(in.arrived)
		in.arrived = make(chan struct{})
		in.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	in.URL = srv.URL
	return in
}

var codeInSMS = regexp.MustCompile(`code is (\d{6})\b`)

// NextCode waits (up to 10 s) for the next code SMS to phone that an
// earlier NextCode has not returned, and returns its code.
func (in *SMSInbox) NextCode(t testing.TB, phone string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		arrived := in.arrived
		n := 0
		for _, m := range in.msgs {
			if m.To != phone {
				continue
			}
			n++
			if n <= in.read[phone] {
				continue
			}
			in.read[phone] = n
			if c := codeInSMS.FindStringSubmatch(m.Body); c != nil {
				in.mu.Unlock()
				return c[1]
			}
		}
		in.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("no code SMS to %s within 10 s", phone)
		}
	}
}

// Messages returns every message sent to phone so far.
func (in *SMSInbox) Messages(phone string) []SMS {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []SMS
	for _, m := range in.msgs {
		if m.To == phone {
			out = append(out, m)
		}
	}
	return out
}
