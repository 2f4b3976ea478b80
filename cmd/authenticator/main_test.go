package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
)

// TestMain lets e2e build approvald once for the package and remove it
// after.
func TestMain(m *testing.M) { e2e.Main(m) }

// result is what one run of the CLI printed and returned.
type result struct {
	stdout, stderr string
	err            error
}

// cli runs the command line args (without the program name) with stdin.
func cli(ctx context.Context, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"authenticator"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), err}
}

// mustCLI runs the CLI and fails the test if it fails.
func mustCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := cli(t.Context(), stdin, args...)
	if r.err != nil {
		t.Fatalf("authenticator %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

// cliInBackground starts the CLI and returns where its result arrives.
func cliInBackground(t *testing.T, stdin string, args ...string) <-chan result {
	done := make(chan result, 1)
	go func() { done <- cli(t.Context(), stdin, args...) }()
	return done
}

func wait(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the CLI did not finish within 20 s")
		return result{}
	}
}

// freeAddr returns a loopback address nothing listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// relay listens now and forwards every connection to target as soon as
// something listens there. The server's push can then be sent before the
// CLI is started with the match number it needs from the login: the push
// waits in the relay (within the server's 10 s push budget), byte for byte
// unchanged, so the signature still covers what the CLI receives.
func relay(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer in.Close()
				var out net.Conn
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if out, err = net.Dial("tcp", target); err == nil {
						break
					}
				}
				if out == nil {
					return
				}
				defer out.Close()
				go func() { _, _ = io.Copy(out, in) }()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	return ln.Addr().String()
}
