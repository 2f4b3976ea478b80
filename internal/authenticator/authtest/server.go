// Package authtest runs a real approvald for tests of its clients: it builds
// cmd/approvald once, starts it as a process on a free port with its SMS
// going to a local webhook inbox, and drives the browser's side of the
// contract (signup, login, verify, session, enrollment codes).
package authtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildServer compiles cmd/approvald into dir and returns the binary's path.
// Call it once, from TestMain.
func BuildServer(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build approvald: %w", err)
	}
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the approvald module")
	}
	bin := filepath.Join(dir, "approvald")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/approvald")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/approvald: %w\n%s", err, out)
	}
	return bin, nil
}

// Main is a package's TestMain: it builds approvald into a temporary
// directory, stores the binary's path in *bin, runs the tests and cleans up.
func Main(m *testing.M, bin *string) {
	os.Exit(runMain(m, bin))
}

func runMain(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "approvald-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = BuildServer(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Server is a running approvald process.
type Server struct {
	URL  string // its PUBLIC_URL, e.g. http://127.0.0.1:41234
	Addr string // where it listens, e.g. 127.0.0.1:41234 (differs from URL's behind a proxy)

	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
}

// StartServer runs bin with ADDR=127.0.0.1:0, an SQLite database in a
// temporary directory and the given extra environment ("NAME=value", which
// may override those), and stops it when t ends. On failure its output is
// logged.
func StartServer(t testing.TB, bin string, env ...string) *Server {
	t.Helper()
	base := []string{
		"ADDR=127.0.0.1:0",
		"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "approvald.db"),
		"LOG_LEVEL=warn",
		// Every test client is 127.0.0.1 and the test Redis is shared:
		// per-IP limits, and the SMS budget of every server on that Redis,
		// would trip across tests (they have their own tests).
		"LIMIT_SIGNUPS_PER_IP_PER_HOUR=1000000",
		"LIMIT_LOGIN_FAILURES_PER_IP=1000000",
		"LIMIT_ENROLL_FAILURES_PER_IP=1000000",
		"LIMIT_RESENDS_PER_IP_PER_HOUR=1000000",
		"SMS_BUDGET_PER_HOUR=1000000",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}
	cmd := exec.Command(bin)
	cmd.Env = append(base, env...)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting approvald: %v", err)
	}
	s := &Server{cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("approvald output:\n%s", logs.String())
		}
	})

	// The first line says where it listens: "approvald is listening on ADDR — open URL".
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(logs, r) // keep draining, or the server blocks on a full pipe
	}()
	select {
	case line := <-lines:
		listening, url, ok := strings.Cut(strings.TrimSpace(line), " — open ")
		addr, found := strings.CutPrefix(listening, "approvald is listening on ")
		if !ok || !found || !strings.HasPrefix(url, "http") {
			t.Fatalf("approvald did not start: first line %q\n%s", line, logs.String())
		}
		s.URL, s.Addr = url, addr
	case <-time.After(60 * time.Second):
		t.Fatalf("approvald did not say where it listens within 60 s\n%s", logs.String())
	}
	return s
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.logs.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
