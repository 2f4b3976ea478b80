package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// Backend is the storage approvald runs on.
type Backend string

const (
	// SQLite is the embedded default: a database file in a temporary
	// directory and the in-process broker.
	SQLite Backend = "sqlite"
	// Postgres is a fresh PostgreSQL database (dropped when the test ends)
	// and the shared test Redis, from testenv, with a random SECRET_KEY.
	Postgres Backend = "postgres"
)

// Backends are both, in the order tests run them.
var Backends = []Backend{SQLite, Postgres}

// RunFunc is cmd/approvald's run: the whole program, which its tests call
// in their own process.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Options say how to start approvald.
type Options struct {
	// Backend is SQLite when empty. Nothing is provisioned for what Env
	// names itself (DATABASE_URL, REDIS_URL).
	Backend Backend
	// Env is set on top of the test defaults (ADDR=127.0.0.1:0, debug
	// logs, a 100 ms sweep, the per-IP limits and the SMS budget lifted:
	// LiftedLimits) and of the backend's settings.
	Env map[string]string
	// Bare leaves the test defaults but ADDR out: only the backend's
	// settings, the inbox and Env (the bench sets its own).
	Bare bool
	// Run, when set, runs approvald in this process; otherwise it runs as
	// a process of Binary.
	Run RunFunc
	// Binary is the approvald to run as a process; empty: the one built
	// for the test binary (see Main).
	Binary string
	// SMS is the inbox the server texts (SMS_PROVIDER=webhook unless Env
	// sets another provider); nil: a new one.
	SMS *Inbox
	// Stderr, when set, receives the server's log as well as Logs.
	Stderr io.Writer
	// LogLimit, when > 0, makes Logs keep only the last LogLimit bytes.
	LogLimit int
}

// LiftedLimits are the settings that lift the per-IP limits and the
// service-wide SMS budget: every test client is 127.0.0.1 and the test
// Redis is shared (the budget by every test server on it), so they would
// trip across tests. The limits have tests of their own that set them low.
func LiftedLimits() map[string]string {
	return map[string]string{
		"LIMIT_SIGNUPS_PER_IP_PER_HOUR":          "1000000",
		"LIMIT_LOGIN_FAILURES_PER_IP":            "1000000",
		"LIMIT_ENROLL_FAILURES_PER_IP":           "1000000",
		"LIMIT_PASSKEY_FAILURES_PER_IP":          "1000000",
		"LIMIT_PASSKEY_LOGINS_PER_IP_PER_MINUTE": "1000000",
		"LIMIT_RESENDS_PER_IP_PER_HOUR":          "1000000",
		"SMS_BUDGET_PER_HOUR":                    "1000000",
		"LIMIT_PASSWORDLESS_PER_IP":              "1000000",
		// Failed device signatures without a device id count per client
		// address alone, and every PostgreSQL-backed test server shares
		// one Redis from 127.0.0.1: the tests that send refused signatures
		// would otherwise add up to the limit across the suite.
		"LIMIT_CALLBACK_FAILURES_PER_DEVICE": "1000000",
	}
}

// Server is a running approvald. Its Client's URL is where it listens.
type Server struct {
	*Client
	Addr      string            // where it listens, e.g. 127.0.0.1:41234
	PublicURL string            // the PUBLIC_URL it announced (differs from URL behind a proxy)
	Env       map[string]string // its whole environment (PATH and HOME aside)
	Logs      *Buffer           // its stderr (the JSON log), then whatever it printed after the listening line

	cmd    *exec.Cmd          // as a process
	cancel context.CancelFunc // in this process
	done   chan struct{}      // closed when it has ended
	err    error              // how it ended, once done is closed

	stopOnce sync.Once
	stopErr  error
	killed   bool
}

// listeningLine is approvald's first line on stdout.
var listeningLine = regexp.MustCompile(`approvald is listening on (\S+) — open (\S+)`)

// Start runs approvald as o says and waits until it listens. It is stopped
// (gracefully, and must then stop cleanly) when tb ends; if tb failed, the
// end of its log is logged.
func Start(tb TB, o Options) *Server {
	tb.Helper()
	in := o.SMS
	if in == nil {
		in = NewInbox(tb)
	}
	env := map[string]string{"ADDR": "127.0.0.1:0"}
	if !o.Bare {
		env["LOG_LEVEL"] = "debug"
		env["SWEEP_INTERVAL"] = "100ms"
		maps.Copy(env, LiftedLimits())
	}
	switch o.Backend {
	case "", SQLite:
		if o.Env["DATABASE_URL"] == "" {
			env["DATABASE_URL"] = "sqlite:" + tb.TempDir() + "/approvald.db"
		}
	case Postgres:
		if o.Env["DATABASE_URL"] == "" {
			env["DATABASE_URL"] = testenv.PostgresURL(tb)
		}
		if o.Env["REDIS_URL"] == "" {
			env["REDIS_URL"] = testenv.RedisURL(tb)
		}
		env["SECRET_KEY"] = base64.StdEncoding.EncodeToString(core.RandomBytes(32))
	default:
		tb.Fatalf("e2e: unknown backend %q", o.Backend)
	}
	maps.Copy(env, o.Env)
	if p := env["SMS_PROVIDER"]; p == "" || p == "webhook" {
		env["SMS_PROVIDER"], env["SMS_WEBHOOK_URL"] = "webhook", in.URL
	}

	s := &Server{
		Client: &Client{HTTP: &http.Client{Timeout: 30 * time.Second}, SMS: in},
		Env:    env,
		Logs:   &Buffer{Limit: o.LogLimit},
		done:   make(chan struct{}),
	}
	var stderr io.Writer = s.Logs
	if o.Stderr != nil {
		stderr = io.MultiWriter(s.Logs, o.Stderr)
	}
	stdout := &lineWatcher{found: make(chan []string, 1), rest: s.Logs}
	if o.Run != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		go func() {
			s.err = o.Run(ctx, []string{"approvald"}, func(k string) string { return env[k] }, stdout, stderr)
			close(s.done)
		}()
	} else {
		bin := o.Binary
		if bin == "" {
			bin = Binary(tb)
		}
		s.cmd = exec.Command(bin)
		s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		for k, v := range env {
			s.cmd.Env = append(s.cmd.Env, k+"="+v)
		}
		s.cmd.Stdout, s.cmd.Stderr = stdout, stderr
		if err := s.cmd.Start(); err != nil {
			tb.Fatalf("starting %s: %v", bin, err)
		}
		go func() {
			s.err = s.cmd.Wait() // after the output was copied
			close(s.done)
		}()
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil && !s.killed {
			tb.Errorf("approvald stopped with an error: %v", err)
		}
		if tb.Failed() {
			tb.Logf("approvald's log:\n%s", tail(s.Logs.String(), 64<<10))
		}
	})

	select {
	case m := <-stdout.found:
		s.Addr, s.PublicURL = m[1], m[2]
		s.URL = "http://" + s.Addr
	case <-s.done:
		tb.Fatalf("approvald stopped at start-up: %v\n%s", s.err, s.Logs.String())
	case <-time.After(60 * time.Second):
		tb.Fatalf("approvald did not say where it listens within 60 s\n%s", s.Logs.String())
	}
	return s
}

// Stop ends the server gracefully (SIGTERM to a process, the context's end
// in this process) and returns how it ended. A process still running after
// 15 s is killed. Stopping again returns the same.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
		} else {
			s.cancel()
		}
		select {
		case <-s.done:
			s.stopErr = s.err
		case <-time.After(15 * time.Second):
			s.stopErr = errors.New("approvald did not shut down within 15 s")
			if s.cmd != nil {
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
	})
	return s.stopErr
}

// Kill ends a process at once (SIGKILL), as a crash would.
func (s *Server) Kill() error {
	if s.cmd == nil {
		return errors.New("e2e: an approvald running in the test's process cannot be killed")
	}
	s.killed = true
	err := s.cmd.Process.Kill()
	<-s.done
	return err
}

// Signal sends sig to a process.
func (s *Server) Signal(sig os.Signal) error {
	if s.cmd == nil {
		return errors.New("e2e: an approvald running in the test's process takes no signals")
	}
	return s.cmd.Process.Signal(sig)
}

// Done is closed when the server has ended, by itself or stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is how the server ended (run's error, or the process's exit), once
// Done is closed.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// PID is the process's id (0 in this process).
func (s *Server) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// lineWatcher is approvald's stdout: it finds the listening line and hands
// what follows to rest.
type lineWatcher struct {
	mu      sync.Mutex
	partial []byte
	seen    bool
	found   chan []string // the listening line's submatches
	rest    io.Writer
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen {
		return w.rest.Write(p)
	}
	w.partial = append(w.partial, p...)
	for !w.seen {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i+1]
		w.partial = w.partial[i+1:]
		if m := listeningLine.FindStringSubmatch(string(line)); m != nil {
			w.seen = true
			w.found <- m
		} else if _, err := w.rest.Write(line); err != nil {
			return 0, err
		}
	}
	if w.seen && len(w.partial) > 0 {
		_, _ = w.rest.Write(w.partial)
		w.partial = nil
	}
	return len(p), nil
}
