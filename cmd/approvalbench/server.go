package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// serverEnv is the environment the bench runs approvald with. Besides the
// wiring, it moves what a real deployment keeps: per-IP limits and the SMS
// budget off (every bench client is on loopback), no cap on websockets
// (-waiting may pass MAX_WEBSOCKETS), approvals that outlive the run (the
// contract's 120 s push life and 30 s push_timeout would end waits the
// bench wants to keep open), and logs at warn (no line per request).
func serverEnv(addr, databaseURL, redisURL, smsURL, metricsAddr string) []string {
	return []string{
		"ADDR=" + addr,
		"DATABASE_URL=" + databaseURL,
		"REDIS_URL=" + redisURL,
		"SECRET_KEY=" + base64.StdEncoding.EncodeToString(core.RandomBytes(32)),
		"SMS_PROVIDER=webhook",
		"SMS_WEBHOOK_URL=" + smsURL,
		"METRICS_ADDR=" + metricsAddr,
		"METRICS_PPROF=true",
		"LOG_LEVEL=warn",
		"APPROVAL_TTL=1h",
		"PUSH_TIMEOUT=1h",
		"LIMIT_SIGNUPS_PER_IP_PER_HOUR=100000000",
		"LIMIT_LOGIN_FAILURES_PER_IP=100000000",
		"LIMIT_ENROLL_FAILURES_PER_IP=100000000",
		"LIMIT_RESENDS_PER_IP_PER_HOUR=100000000",
		// Seeding texts two codes per user, far past a real budget.
		"SMS_BUDGET_PER_HOUR=100000000",
		"LIMIT_WEBSOCKETS_PER_IP=100000000",
		"MAX_WEBSOCKETS=100000000",
		"LIMIT_SMS_PER_PHONE_PER_HOUR=1000",
		"LIMIT_SMS_PER_PHONE_PER_DAY=1000",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}
}

// server is a running approvald process.
type server struct {
	URL        string // its PUBLIC_URL
	MetricsURL string // its METRICS_ADDR listener
	PID        int

	cmd  *exec.Cmd
	logs *tail
	done chan struct{}
}

// startServer runs bin with env and waits until it says where it listens.
func startServer(ctx context.Context, bin string, env []string, logPath string) (*server, error) {
	metricsAddr := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "METRICS_ADDR="); ok {
			metricsAddr = v
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	logs := &tail{max: 64 << 10}
	cmd.Stderr = logs
	var logFile *os.File
	if logPath != "" {
		var err error
		if logFile, err = os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return nil, err
		}
		cmd.Stderr = io.MultiWriter(logs, logFile)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &server{PID: cmd.Process.Pid, MetricsURL: "http://" + metricsAddr, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // after the output was copied
		if logFile != nil {
			_ = logFile.Close()
		}
		close(s.done)
	}()

	// The first line says where it listens: "approvald is listening on ADDR — open URL".
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		first <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case line := <-first:
		_, u, ok := strings.Cut(strings.TrimSpace(line), " — open ")
		if !ok || !strings.HasPrefix(u, "http://127.0.0.1:") {
			s.Stop()
			return nil, fmt.Errorf("approvald did not start: %q\n%s", line, logs.String())
		}
		s.URL = u
	case <-time.After(60 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("approvald did not start within 60 s\n%s", logs.String())
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	return s, nil
}

// Stop ends the process (SIGTERM, then SIGKILL after 15 s).
func (s *server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Logs is the tail of what the server wrote to stderr.
func (s *server) Logs() string { return s.logs.String() }

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var errServerGone = errors.New("approvald exited during the run")

// alive reports errServerGone once the process has ended.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("%w\n%s", errServerGone, s.Logs())
	default:
		return nil
	}
}
