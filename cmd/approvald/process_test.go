package main

import (
	"bufio"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// These tests run approvald as real processes: two instances behind one
// database and Redis, a SIGKILL in the middle of an approval, and instances
// racing to migrate an empty database.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func approvaldBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "approvald-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "approvald")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binary = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, binary)
	}
	return binary
}

type process struct {
	*testServer
	cmd *exec.Cmd
}

// startProcess runs the approvald binary with env (on top of a clean
// environment) and waits for it to listen.
func startProcess(t *testing.T, env map[string]string, inbox *smsInbox) *process {
	t.Helper()
	cmd := exec.Command(approvaldBinary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{testServer: &testServer{SMS: inbox, Logs: logs, env: env}, cmd: cmd}
	t.Cleanup(func() { p.kill() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- "http://" + m[1]
			}
		}
	}()
	select {
	case p.URL = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatalf("approvald process did not start\n%s", logs.String())
	}
	return p
}

func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// sharedPublicURL is the one public URL of instances that serve one site
// (token issuer and websocket origin).
const sharedPublicURL = "http://approvald.test"

// sharedEnv is the environment of instances sharing one PostgreSQL + Redis.
func sharedEnv(t *testing.T, inbox *smsInbox) map[string]string {
	return map[string]string{
		"ADDR":                          "127.0.0.1:0",
		"PUBLIC_URL":                    sharedPublicURL,
		"DATABASE_URL":                  testenv.PostgresURL(t),
		"REDIS_URL":                     testenv.RedisURL(t),
		"SECRET_KEY":                    base64.StdEncoding.EncodeToString(core.RandomBytes(32)),
		"SMS_PROVIDER":                  "webhook",
		"SMS_WEBHOOK_URL":               inbox.srv.URL,
		"SWEEP_INTERVAL":                "100ms",
		"LIMIT_SIGNUPS_PER_IP_PER_HOUR": perIPLimitsOff["LIMIT_SIGNUPS_PER_IP_PER_HOUR"],
		"LIMIT_LOGIN_FAILURES_PER_IP":   perIPLimitsOff["LIMIT_LOGIN_FAILURES_PER_IP"],
		"LIMIT_RESENDS_PER_IP_PER_HOUR": perIPLimitsOff["LIMIT_RESENDS_PER_IP_PER_HOUR"],
		"SMS_BUDGET_PER_HOUR":           perIPLimitsOff["SMS_BUDGET_PER_HOUR"],
	}
}

func TestTwoInstancesShareDecisions(t *testing.T) {
	inbox := newSMSInbox(t)
	env := sharedEnv(t, inbox)
	a := startProcess(t, env, inbox)
	b := startProcess(t, env, inbox)
	u, dev := a.userWithDevice(t, false)
	l := a.startLogin(t, u)
	ws, res, err := a.dialWS(t, l.ID, l.Ticket, sharedPublicURL)
	if err != nil {
		t.Fatalf("websocket on A: %v %v", err, res)
	}
	ws.expectFrame(t, map[string]any{"status": "pending"})

	// The device talks to instance B.
	dev.State.Server = b.URL
	if st, err := dev.decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
		t.Fatalf("decide on B: %q %v", st, err)
	}
	// A never re-reads a waiting approval on its own (only after a broker
	// reconnect): the frame can only have come through the broker.
	ws.expectFrame(t, map[string]any{"status": "approved"})
	// The session can be taken on either instance, once.
	expect(t, b.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...), http.StatusOK)
	expect(t, a.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...), http.StatusConflict, "already_exchanged")
}

func TestSIGKILLLosesNothing(t *testing.T) {
	for _, bk := range []backend{sqliteBackend, postgresBackend} {
		t.Run(string(bk), func(t *testing.T) {
			inbox := newSMSInbox(t)
			var env map[string]string
			if bk == postgresBackend {
				env = sharedEnv(t, inbox)
			} else {
				env = map[string]string{
					"ADDR": "127.0.0.1:0", "DATABASE_URL": "sqlite:" + t.TempDir() + "/a.db",
					"SMS_PROVIDER": "webhook", "SMS_WEBHOOK_URL": inbox.srv.URL, "SWEEP_INTERVAL": "100ms",
				}
				for k, v := range perIPLimitsOff {
					env[k] = v
				}
			}
			first := startProcess(t, env, inbox)
			u, dev := first.userWithDevice(t, false)
			l := first.startLogin(t, u)
			first.kill()

			second := startProcess(t, env, inbox)
			dev.State.Server = second.URL
			if st, err := dev.decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
				t.Fatalf("decide after restart: %q %v", st, err)
			}
			origin := second.URL
			if bk == postgresBackend {
				origin = sharedPublicURL
			}
			ws, res, err := second.dialWS(t, l.ID, l.Ticket, origin)
			if err != nil {
				t.Fatalf("websocket after restart: %v %v", err, res)
			}
			ws.expectFrame(t, map[string]any{"status": "approved"})
			expect(t, second.post(t, "/api/v1/approvals/"+l.ID+"/session", nil, ticketHeader(l.Ticket)...), http.StatusOK)
		})
	}
}

func TestInstancesStartTogetherOnAnEmptyDatabase(t *testing.T) {
	inbox := newSMSInbox(t)
	env := sharedEnv(t, inbox)
	var wg sync.WaitGroup
	procs := make([]*process, 3)
	for i := range procs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			procs[i] = startProcess(t, env, inbox)
		}(i)
	}
	wg.Wait()
	for _, p := range procs {
		expect(t, p.get(t, "/readyz"), http.StatusOK)
	}
	// They agree on the signing key: a token from one is accepted by another.
	u := procs[0].signupVerified(t)
	pair := procs[1].loginSMS(t, u)
	expect(t, procs[2].get(t, "/api/v1/me", bearer(pair.str("access_token"))...), http.StatusOK)
}
