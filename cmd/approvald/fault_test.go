package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// Fault injection: PostgreSQL and Redis are reached through proxies that
// the test cuts and restores, as if the servers went down and came back.

// viaProxy points a database or Redis URL at a proxy in front of its server.
func viaProxy(t *testing.T, raw string) (string, *testenv.Proxy) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.NewProxy(t, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

func startBehindProxies(t *testing.T) (*testServer, *testenv.Proxy, *testenv.Proxy) {
	dbURL, dbProxy := viaProxy(t, testenv.PostgresURL(t))
	redisURL, redisProxy := viaProxy(t, testenv.RedisURL(t))
	s := startServer(t, postgresBackend, map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL})
	return s, dbProxy, redisProxy
}

// eventually polls f until it is true or 10 s pass.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedisOutage(t *testing.T) {
	s, _, redis := startBehindProxies(t)
	u, dev := s.userWithDevice(t, false)
	l := s.startLogin(t, u)
	ws := s.mustWS(t, l)
	ws.expectFrame(t, map[string]any{"status": "pending"})

	redis.Cut()
	eventually(t, "/readyz answering 503", func() bool { return s.get(t, "/readyz").Status == http.StatusServiceUnavailable })
	ws.expectClose(t, websocket.CloseInternalServerErr)
	r := s.post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	expect(t, r, http.StatusServiceUnavailable, "unavailable")

	// No code is compared while Redis is down: it keeps the user's count
	// of wrong codes for the hour, and a code tried without it could be one
	// guess past that limit.
	code, err := dev.Client.Code(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, ticketHeader(l.Ticket)...), http.StatusServiceUnavailable, "unavailable")

	redis.Restore()
	eventually(t, "/readyz answering 200", func() bool { return s.get(t, "/readyz").Status == http.StatusOK })
	// The login begun before the outage completes after it.
	again := s.mustWS(t, l)
	again.expectFrame(t, map[string]any{"status": "pending"})
	if code, err = dev.Client.Code(time.Now()); err != nil {
		t.Fatal(err)
	}
	expect(t, s.post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, ticketHeader(l.Ticket)...), http.StatusOK)
	again.expectFrame(t, map[string]any{"status": "approved"})
	again.expectClose(t, websocket.CloseNormalClosure)

	// Everything works again without a restart: a push login end to end.
	l2 := s.startLogin(t, u)
	ws2 := s.mustWS(t, l2)
	ws2.expectFrame(t, map[string]any{"status": "pending"})
	if st, err := dev.decide(t, l2.ID, true, l2.Number, false); err != nil || st != "approved" {
		t.Fatalf("decide after recovery: %q %v", st, err)
	}
	ws2.expectFrame(t, map[string]any{"status": "approved"})
}

func TestPostgresOutage(t *testing.T) {
	s, db, _ := startBehindProxies(t)
	u := s.signupVerified(t)
	db.Cut()
	eventually(t, "/readyz answering 503", func() bool { return s.get(t, "/readyz").Status == http.StatusServiceUnavailable })
	r := s.post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	expect(t, r, http.StatusServiceUnavailable, "unavailable")
	if len(r.Body) != 1 {
		t.Fatalf("503 body leaks more than the error: %s", r.Raw)
	}
	expect(t, s.get(t, "/healthz"), http.StatusOK)
	db.Restore()
	eventually(t, "/readyz answering 200", func() bool { return s.get(t, "/readyz").Status == http.StatusOK })
	s.loginSMS(t, u)
}

func TestSIGTERMDrains(t *testing.T) {
	inbox := newSMSInbox(t)
	env := map[string]string{
		"ADDR": "127.0.0.1:0", "DATABASE_URL": "sqlite:" + t.TempDir() + "/a.db",
		"SMS_PROVIDER": "webhook", "SMS_WEBHOOK_URL": inbox.srv.URL,
		"SECRET_KEY": base64.StdEncoding.EncodeToString(core.RandomBytes(32)),
	}
	for k, v := range perIPLimitsOff {
		env[k] = v
	}
	p := startProcess(t, env, inbox)
	u := p.signupVerified(t)
	l := p.startLogin(t, u)
	ws := p.mustWS(t, l)
	ws.expectFrame(t, map[string]any{"status": "pending"})

	// Five signups are held inside their handler (the SMS gateway does not
	// answer yet) when SIGTERM arrives; each must still be answered in full.
	arrived, release := inbox.holdMessages()
	defer release()
	const inFlight = 5
	results := make(chan string, inFlight)
	for i := 0; i < inFlight; i++ {
		go func() {
			body := `{"name":"Ada","phone":"` + testenv.RandomPhone() + `","password":"long enough"}`
			res, err := http.Post(p.URL+"/api/v1/signup", "application/json", strings.NewReader(body))
			if err != nil {
				results <- err.Error()
				return
			}
			res.Body.Close()
			results <- res.Status
		}()
	}
	for i := 0; i < inFlight; i++ {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d signups reached the SMS gateway", i, inFlight)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ws.expectClose(t, websocket.CloseGoingAway)
	release()
	for i := 0; i < inFlight; i++ {
		if st := <-results; st != "201 Created" {
			t.Fatalf("a request in flight at SIGTERM got %q", st)
		}
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("approvald exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("approvald did not exit within 15 s of SIGTERM")
	}
}
