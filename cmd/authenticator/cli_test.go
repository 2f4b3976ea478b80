package main

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/e2e"
)

// A device without push, driven command by command: enroll, pending,
// approve (right and wrong number), deny --report, code.
func TestEnrollPendingApproveDenyCode(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	u, code := s.UserAndEnrollmentCode(t)
	state := filepath.Join(t.TempDir(), "device.json")

	out := mustCLI(t, "", "enroll", "--server", s.URL, "--code", code, "--name", "test CLI", "--state", state)
	if !regexp.MustCompile(`Enrolled as device dev_\w+ with ` + regexp.QuoteMeta(s.URL)).MatchString(out) {
		t.Fatalf("enroll printed %q", out)
	}
	if strings.Contains(out, code) {
		t.Fatal("enroll printed the enrollment code")
	}
	if info, err := os.Stat(state); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v; want mode 0600", info, err)
	}
	r := cli(t.Context(), "", "enroll", "--server", s.URL, "--code", "another", "--state", state)
	if r.err == nil || !strings.Contains(r.err.Error(), "already exists") {
		t.Fatalf("second enroll into the same file = %v, want a refusal", r.err)
	}

	if out := mustCLI(t, "", "pending", "--state", state); !strings.Contains(out, "No logins are waiting") {
		t.Fatalf("pending before a login printed %q", out)
	}
	l := s.StartLogin(t, u)
	out = mustCLI(t, "", "pending", "--state", state)
	if !strings.Contains(out, l.ID) || !strings.Contains(out, "expires:") {
		t.Fatalf("pending printed %q, want %s and its expiry", out, l.ID)
	}
	out = mustCLI(t, "", "approve", l.ID, "--number", strconv.Itoa(l.Number), "--state", state)
	if !strings.Contains(out, "Approved") {
		t.Fatalf("approve printed %q", out)
	}
	if a := s.Approval(t, l); a.Str("status") != "approved" {
		t.Fatalf("approval after approve = %s", a.Raw)
	}
	r = cli(t.Context(), "", "approve", l.ID, "--number", strconv.Itoa(l.Number), "--state", state)
	if r.err == nil || !strings.Contains(r.err.Error(), "already_decided") {
		t.Fatalf("approving twice = %v, want already_decided", r.err)
	}

	l = s.StartLogin(t, u)
	wrong := 10 + (l.Number-10+1)%90
	r = cli(t.Context(), "", "approve", "--state", state, "--number", strconv.Itoa(wrong), l.ID)
	if r.err == nil || !strings.Contains(r.err.Error(), "did not match") {
		t.Fatalf("approve with a wrong number = %v, want an error", r.err)
	}
	if a := s.Approval(t, l); a.Str("status") != "denied" || a.Str("reason") != "number_mismatch" {
		t.Fatalf("approval after a wrong number = %s", a.Raw)
	}

	l = s.StartLogin(t, u)
	if out := mustCLI(t, "", "deny", l.ID, "--report", "--state", state); !strings.Contains(out, "reported") {
		t.Fatalf("deny --report printed %q", out)
	}
	if a := s.Approval(t, l); a.Str("status") != "denied" || a.Str("reason") != "reported" {
		t.Fatalf("approval after deny --report = %s", a.Raw)
	}

	l = s.StartLogin(t, u) // an SMS login now (pushes are paused): the TOTP code works too
	out = strings.TrimSpace(mustCLI(t, "", "code", "--state", state))
	if !regexp.MustCompile(`^\d{6}$`).MatchString(out) {
		t.Fatalf("code printed %q, want 6 digits", out)
	}
	e2e.Expect(t, s.Verify(t, l, out), http.StatusOK)

	r = cli(t.Context(), "", "deny", "apr_aaaaaaaaaaaaaaaaaaaaaaaaaa", "--state", state)
	if r.err == nil || !strings.Contains(r.err.Error(), "not_found") {
		t.Fatalf("deny of an unknown login = %v, want not_found", r.err)
	}
}

// listen --approve --number N answers a real push from the server.
func TestListenApprovesAPushAutomatically(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	u, code := s.UserAndEnrollmentCode(t)
	state := filepath.Join(t.TempDir(), "device.json")
	cliAddr := freeAddr(t)
	pushAddr := relay(t, cliAddr)
	mustCLI(t, "", "enroll", "--server", s.URL, "--code", code, "--listen", pushAddr, "--state", state)

	// From Firefox on Linux: the push's context says so.
	lr := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password},
		"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	e2e.Expect(t, lr, http.StatusAccepted)
	var l e2e.Login
	lr.Decode(t, &l)
	if l.Channel != "push" {
		t.Fatalf("login channel = %q, want push", l.Channel)
	}
	r := wait(t, cliInBackground(t, "", "listen", "--state", state, "--addr", cliAddr,
		"--approve", "--number", strconv.Itoa(l.Number), "--once"))
	if r.err != nil {
		t.Fatalf("listen: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	for _, want := range []string{l.ID, "context:  Firefox on Linux\n", "from:", "browser:", "expires:", "Approved"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("listen printed %q, want %q in it", r.stdout, want)
		}
	}
	if a := s.Approval(t, l); a.Str("status") != "approved" {
		t.Fatalf("approval after listen = %s", a.Raw)
	}
}

// Without --approve/--deny, listen asks on stdin and insists on a valid
// answer and a two-digit number.
func TestListenAsksOnStdin(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	u, code := s.UserAndEnrollmentCode(t)
	state := filepath.Join(t.TempDir(), "device.json")
	cliAddr := freeAddr(t)
	pushAddr := relay(t, cliAddr)
	mustCLI(t, "", "enroll", "--server", s.URL, "--code", code, "--listen", pushAddr, "--state", state)

	l := s.StartLogin(t, u)
	stdin := "maybe\na\n7\n" + strconv.Itoa(l.Number) + "\n"
	r := wait(t, cliInBackground(t, stdin, "listen", "--state", state, "--addr", cliAddr, "--once"))
	if r.err != nil {
		t.Fatalf("listen: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	if strings.Count(r.stdout, "approve or deny? [a/d/r=not me]") != 2 ||
		strings.Count(r.stdout, "type the number shown in the browser") != 2 || !strings.Contains(r.stdout, "Approved") {
		t.Fatalf("listen printed %q", r.stdout)
	}
	if a := s.Approval(t, l); a.Str("status") != "approved" {
		t.Fatalf("approval after listen = %s", a.Raw)
	}
}

// A device without a push URL: listen --poll polls and denies with --deny.
func TestListenPollsWithoutPushURL(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	u, code := s.UserAndEnrollmentCode(t)
	state := filepath.Join(t.TempDir(), "device.json")
	// Without --code, enroll reads the code from stdin.
	if out := mustCLI(t, code+"\n", "enroll", "--server", s.URL, "--state", state); !strings.Contains(out, "enrollment code: ") {
		t.Fatalf("enroll without --code printed %q, want a prompt", out)
	}

	done := cliInBackground(t, "", "listen", "--state", state, "--deny", "--once", "--poll", "--interval", "50ms")
	l := s.StartLogin(t, u)
	r := wait(t, done)
	if r.err != nil || !strings.Contains(r.stdout, l.ID) || !strings.Contains(r.stdout, "Denied.") {
		t.Fatalf("listen = %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	if a := s.Approval(t, l); a.Str("status") != "denied" || a.Str("reason") != "user_denied" {
		t.Fatalf("approval after listen --deny = %s", a.Raw)
	}
}

// A device without a push URL: listen holds the device websocket; a login
// started before it connects is pending on connect, the next arrives on it.
func TestListenOverTheDeviceWebsocket(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	u, code := s.UserAndEnrollmentCode(t)
	state := filepath.Join(t.TempDir(), "device.json")
	mustCLI(t, "", "enroll", "--server", s.URL, "--code", code, "--state", state)

	first := s.StartLogin(t, u)
	done := cliInBackground(t, "", "listen", "--state", state, "--deny", "--once")
	r := wait(t, done)
	if r.err != nil || !strings.Contains(r.stdout, first.ID) || !strings.Contains(r.stdout, "websocket") || !strings.Contains(r.stdout, "Denied.") {
		t.Fatalf("listen = %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	if a := s.Approval(t, first); a.Str("status") != "denied" {
		t.Fatalf("approval after listen --deny = %s", a.Raw)
	}

	// Nothing pending now: a login started while it listens (or connects:
	// then it is pending on connect) is answered too.
	done = cliInBackground(t, "", "listen", "--state", state, "--deny", "--once")
	l := s.StartLogin(t, u)
	r = wait(t, done)
	if r.err != nil || !strings.Contains(r.stdout, "Denied.") {
		t.Fatalf("listen = %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	if a := s.Approval(t, l); a.Str("status") != "denied" || a.Str("reason") != "user_denied" {
		t.Fatalf("approval after listen --deny = %s", a.Raw)
	}
}

// listen over the websocket outlives its server: when the server shuts
// down (close 1001) it reconnects, with a growing pause, to the server back
// on the same address, and reads what became pending meanwhile.
func TestListenReconnectsAndRereadsPending(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := e2e.Start(t, e2e.Options{Backend: e2e.Postgres, Env: map[string]string{"ADDR": addr, "PUBLIC_URL": "http://" + addr}})
	u, code := s.UserAndEnrollmentCode(t)
	state := filepath.Join(t.TempDir(), "device.json")
	mustCLI(t, "", "enroll", "--server", s.URL, "--code", code, "--state", state)

	done := cliInBackground(t, "", "listen", "--state", state, "--deny", "--once")
	e2e.Eventually(t, "the device websocket on the first server", func() bool {
		return strings.Contains(s.Logs.String(), `"path":"/api/v1/devices/`) && strings.Contains(s.Logs.String(), `/ws","status":101`)
	})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	again := e2e.Start(t, e2e.Options{Env: s.Env, SMS: s.SMS})
	l := again.StartLogin(t, u)
	r := wait(t, done)
	if r.err != nil || !strings.Contains(r.stdout, l.ID) || !strings.Contains(r.stdout, "Denied.") || !strings.Contains(r.stderr, "reconnecting in") {
		t.Fatalf("listen = %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	if a := again.Approval(t, l); a.Str("status") != "denied" {
		t.Fatalf("approval after the reconnect = %s", a.Raw)
	}
}

func TestUsageErrors(t *testing.T) {
	state := filepath.Join(t.TempDir(), "missing.json")
	cases := [][]string{
		{},
		{"frobnicate"},
		{"enroll", "--code", "x", "--state", state},
		{"enroll", "--server", "http://127.0.0.1:1", "--listen", "nonsense", "--state", state},
		{"approve", "--state", state},
		{"approve", "apr_x", "--state", state},
		{"approve", "apr_x", "--number", "100", "--state", state},
		{"approve", "apr_x", "apr_y", "--number", "42", "--state", state},
		{"deny", "--state", state},
		{"listen", "--approve", "--state", state},
		{"listen", "--approve", "--number", "42", "--deny", "--state", state},
		{"listen", "--number", "42", "--state", state},
		{"listen", "--report", "--state", state},
		{"code", "extra", "--state", state},
		{"pending", "--bogus", "--state", state},
	}
	for _, args := range cases {
		r := cli(t.Context(), "", args...)
		var usage *usageError
		if !errors.As(r.err, &usage) {
			t.Errorf("authenticator %s = %v, want a usage error", strings.Join(args, " "), r.err)
		}
	}
	if r := cli(t.Context(), "", "code", "--state", state); r.err == nil || !strings.Contains(r.err.Error(), "enroll this device first") {
		t.Errorf("code without a state file = %v, want advice to enroll", r.err)
	}
	for _, args := range [][]string{{"-h"}, {"help"}, {"listen", "-h"}, {"approve", "--help"}} {
		if r := cli(t.Context(), "", args...); r.err != nil || r.stdout+r.stderr == "" {
			t.Errorf("authenticator %s = %v with no usage text", strings.Join(args, " "), r.err)
		}
	}
}

// A login request that names the application signed in to is headed
// "Sign in to <app>", the name cleaned as any text from the server; one
// that names none keeps its message.
func TestShowNamesTheApplication(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	p := authenticator.PushRequest{ApprovalID: "apr_x", Message: "Login request", App: "Grafana", ExpiresAt: now.Add(time.Minute)}
	var out strings.Builder
	show(&out, p, now)
	if !strings.Contains(out.String(), "Sign in to Grafana  apr_x") || strings.Contains(out.String(), "Login request") {
		t.Fatalf("show printed %q; want it headed Sign in to Grafana", out.String())
	}
	p.App = "Graf\x1b[2Jana"
	out.Reset()
	show(&out, p, now)
	if strings.Contains(out.String(), "\x1b") || !strings.Contains(out.String(), "Sign in to Graf") {
		t.Fatalf("show printed %q; want the name without its escape", out.String())
	}
	p.App = ""
	out.Reset()
	show(&out, p, now)
	if !strings.Contains(out.String(), "Login request  apr_x") || strings.Contains(out.String(), "Sign in") {
		t.Fatalf("show printed %q; want the message", out.String())
	}
}

// A passwordless login's push says plainly that no password was given,
// whatever the heading.
func TestShowWarnsOfAPasswordlessLogin(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	p := authenticator.PushRequest{ApprovalID: "apr_x", Message: "Someone is trying to sign in as you without your password", App: "Grafana", Passwordless: true, ExpiresAt: now.Add(time.Minute)}
	var out strings.Builder
	show(&out, p, now)
	if !strings.Contains(out.String(), "someone is trying to sign in as you without your password") {
		t.Fatalf("show printed %q; want the passwordless warning", out.String())
	}
	p.Passwordless = false
	out.Reset()
	show(&out, p, now)
	if strings.Contains(out.String(), "WARNING") {
		t.Fatalf("show printed %q for a password login", out.String())
	}
}

func TestCleanNeutralizesTerminalEscapes(t *testing.T) {
	got := clean("Mozilla\x1b[2J\x1b]0;owned\x07\u202e\ttail")
	if strings.ContainsAny(got, "\x1b\x07\u202e\t") {
		t.Fatalf("clean left control characters in %q", got)
	}
	if long := clean(strings.Repeat("a", 500)); len([]rune(long)) != maxShownRunes+1 {
		t.Fatalf("clean kept %d runes of 500", len([]rune(long)))
	}
}

// A request with context shows its summary under the heading, cleaned as
// any text from the server; one without shows no context line.
func TestShowPrintsTheContextSummary(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	p := authenticator.PushRequest{ApprovalID: "apr_x", Message: "Login request", App: "Grafana", ExpiresAt: now.Add(time.Minute),
		Context: &authenticator.PushContext{Browser: "Firefox", OS: "Linux", Location: "Berlin, Germany", Summary: "near Berlin, Germany · Firefox on Linux · Grafana"}}
	var out strings.Builder
	show(&out, p, now)
	if !strings.Contains(out.String(), "Sign in to Grafana  apr_x\n  context:  near Berlin, Germany · Firefox on Linux · Grafana\n") {
		t.Fatalf("show printed %q; want the summary under the heading", out.String())
	}
	p.Context.Summary = "near Berlin\x1b[2J"
	out.Reset()
	show(&out, p, now)
	if strings.Contains(out.String(), "\x1b") {
		t.Fatalf("show printed %q; want the summary without its escape", out.String())
	}
	p.Context = nil
	out.Reset()
	show(&out, p, now)
	if strings.Contains(out.String(), "context:") {
		t.Fatalf("show printed %q; want no context line", out.String())
	}
}
