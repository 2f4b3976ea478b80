package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// inbox is the far end of SMS_PROVIDER=webhook: it receives the server's
// text messages ({"to", "body"} POSTed as JSON) and hands out their codes.
type inbox struct {
	URL string

	srv   *http.Server
	mu    sync.Mutex
	codes map[string]chan string // phone → codes not yet taken
}

var codeInSMS = regexp.MustCompile(`code is (\d{6})\b`)

func startInbox() (*inbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	in := &inbox{URL: "http://" + ln.Addr().String() + "/sms", codes: map[string]chan string{}}
	in.srv = &http.Server{Handler: http.HandlerFunc(in.receive), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = in.srv.Serve(ln) }()
	return in, nil
}

func (in *inbox) receive(w http.ResponseWriter, r *http.Request) {
	var m struct{ To, Body string }
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil || m.To == "" {
		http.Error(w, "want a JSON {to, body} POST", http.StatusBadRequest)
		return
	}
	if c := codeInSMS.FindStringSubmatch(m.Body); c != nil {
		select {
		case in.box(m.To) <- c[1]:
		default: // a full box: a flow takes one code at a time, so this is a stray
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

func (in *inbox) box(phone string) chan string {
	in.mu.Lock()
	defer in.mu.Unlock()
	c, ok := in.codes[phone]
	if !ok {
		c = make(chan string, 4)
		in.codes[phone] = c
	}
	return c
}

// code waits for the next code texted to phone.
func (in *inbox) code(ctx context.Context, phone string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case c := <-in.box(phone):
		return c, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no code texted to %s: %w", phone, ctx.Err())
	}
}

func (in *inbox) Close() { _ = in.srv.Close() }
