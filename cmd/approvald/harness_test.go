package main

import (
	"testing"

	"github.com/approvald/approvald/internal/e2e"
)

// The HTTP tests start the real program through internal/e2e: with run()
// in the test's process, on the embedded default (SQLite + in-process
// broker) and on PostgreSQL + Redis, talking to it over loopback, with SMS
// going to a local webhook that records every message. process_test.go runs
// the built binary instead.

// TestMain lets e2e build approvald once for the process tests and remove
// it after.
func TestMain(m *testing.M) { e2e.Main(m) }

// forEachBackend runs f once per backend as parallel subtests.
func forEachBackend(t *testing.T, f func(t *testing.T, b e2e.Backend)) {
	for _, b := range e2e.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// startServer runs approvald's run in this process on b, with env on top
// of the test defaults.
func startServer(t *testing.T, b e2e.Backend, env map[string]string) *e2e.Server {
	t.Helper()
	return e2e.Start(t, e2e.Options{Run: run, Backend: b, Env: env})
}
