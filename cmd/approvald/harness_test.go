package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/approvald/approvald/internal/e2e"
)

// The HTTP tests start the real program through internal/e2e: with run()
// in the test's process, on the embedded default (SQLite + in-process
// broker) and on PostgreSQL + Redis, talking to it over loopback, with SMS
// going to a local webhook that records every message. process_test.go runs
// the built binary instead.

// TestMain lets e2e build approvald once for the process tests and remove
// it after, and keeps sharedDir for as long as the test binary runs.
func TestMain(m *testing.M) { e2e.Main(withSharedDir{m}) }

// sharedDir holds what outlives the test that made it: the fuzz targets'
// one app and its SQLite database (a test's TempDir goes when that test
// ends, and SQLite then cannot open another connection to the file).
var sharedDir string

type withSharedDir struct{ m *testing.M }

func (w withSharedDir) Run() int {
	dir, err := os.MkdirTemp("", "approvald-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	sharedDir = dir
	return w.m.Run()
}

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
