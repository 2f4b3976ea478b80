package sms

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

// gateway is a fake vendor: it hands each request, body read, to check and
// answers with status and body.
type gateway struct {
	*httptest.Server
	hits atomic.Int32
}

func newGateway(t *testing.T, check func(t *testing.T, r *http.Request, body string), status int, answer string) *gateway {
	t.Helper()
	g := &gateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if check != nil {
			check(t, r, string(body))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(g.Close)
	return g
}

// hangingServer never answers: it waits until the client goes away or the
// test ends.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only once the body is read does the server watch the connection
		// and cancel r.Context() when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(stop) }) // runs first: cleanups are last-in, first-out
	return s
}

// wantUnavailable checks err is the sms unavailable error, that its cause
// mentions every one of want, and that it leaks none of secret.
func wantUnavailable(t *testing.T, err error, want []string, secret ...string) {
	t.Helper()
	if !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	text := err.Error()
	if !strings.Contains(text, "sms is unavailable") {
		t.Errorf("err = %q, want the sms unavailable message", text)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("err = %q, want it to mention %q", text, w)
		}
	}
	for _, s := range secret {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("err = %q leaks %q", text, s)
		}
	}
}

func wantHeader(t *testing.T, r *http.Request, name, want string) {
	t.Helper()
	if got := r.Header.Get(name); got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}
