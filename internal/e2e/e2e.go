// Package e2e is the one end-to-end harness: it starts approvald — in the
// test's own process (Options.Run: cmd/approvald's tests pass its run) or as
// a process of the binary built once per test binary — on the embedded
// default (SQLite + in-process broker) or on PostgreSQL + Redis, with its SMS
// going to a local Inbox that speaks the webhook provider's wire format.
// Around it: a Client for the JSON API with the sign-up and login flows, a
// Device (the protocol client of internal/authenticator: enroll, push or
// pull, decide with the number, TOTP codes) and the browser's websocket.
//
// It is not a _test package, so that the tests of other packages and
// cmd/approvalbench can use it, and it does not import the testing package:
// it reports failures through TB, which *testing.T satisfies and which the
// bench implements for itself.
package e2e

import (
	"sync"
	"time"

	"github.com/approvald/approvald/internal/testenv"
)

// TB is the part of testing.TB the harness uses.
type TB interface {
	testenv.TB // Helper, Cleanup, Fatalf, Skipf
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
	TempDir() string
}

// Eventually polls f until it is true, failing tb after 20 s. It is for
// what has no event to wait on (a state read over HTTP).
func Eventually(tb TB, what string, f func() bool) {
	tb.Helper()
	const limit = 20 * time.Second
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not happen within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Buffer is an io.Writer that is safe to read while a server writes to it.
// With Limit > 0 it keeps only the last Limit bytes.
type Buffer struct {
	Limit int

	mu sync.Mutex
	b  []byte
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if over := len(b.b) - b.Limit; b.Limit > 0 && over > 0 {
		b.b = append(b.b[:0], b.b[over:]...)
	}
	return len(p), nil
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
