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
	"github.com/approvald/approvald/internal/e2e"
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

func startBehindProxies(t *testing.T) (*e2e.Server, *testenv.Proxy, *testenv.Proxy) {
	dbURL, dbProxy := viaProxy(t, testenv.PostgresURL(t))
	redisURL, redisProxy := viaProxy(t, testenv.RedisURL(t))
	s := startServer(t, e2e.Postgres, map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL})
	return s, dbProxy, redisProxy
}

func TestRedisOutage(t *testing.T) {
	s, _, redis := startBehindProxies(t)
	u, dev := s.UserWithDevice(t, false)
	l := s.StartLogin(t, u)
	ws := s.MustWS(t, l)
	ws.ExpectFrame(t, map[string]any{"status": "pending"})

	redis.Cut()
	e2e.Eventually(t, "/readyz answering 503", func() bool { return s.Get(t, "/readyz").Status == http.StatusServiceUnavailable })
	ws.ExpectClose(t, websocket.CloseInternalServerErr)
	r := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	e2e.Expect(t, r, http.StatusServiceUnavailable, "unavailable")

	// No code is compared while Redis is down: it keeps the user's count
	// of wrong codes for the hour, and a code tried without it could be one
	// guess past that limit.
	code, err := dev.Client.Code(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, e2e.Ticket(l.Ticket)...), http.StatusServiceUnavailable, "unavailable")

	redis.Restore()
	e2e.Eventually(t, "/readyz answering 200", func() bool { return s.Get(t, "/readyz").Status == http.StatusOK })
	// The login begun before the outage completes after it.
	again := s.MustWS(t, l)
	again.ExpectFrame(t, map[string]any{"status": "pending"})
	if code, err = dev.Client.Code(time.Now()); err != nil {
		t.Fatal(err)
	}
	e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, e2e.Ticket(l.Ticket)...), http.StatusOK)
	again.ExpectFrame(t, map[string]any{"status": "approved"})
	again.ExpectClose(t, websocket.CloseNormalClosure)

	// Everything works again without a restart: a push login end to end.
	l2 := s.StartLogin(t, u)
	ws2 := s.MustWS(t, l2)
	ws2.ExpectFrame(t, map[string]any{"status": "pending"})
	if st, err := dev.Decide(t, l2.ID, true, l2.Number, false); err != nil || st != "approved" {
		t.Fatalf("decide after recovery: %q %v", st, err)
	}
	ws2.ExpectFrame(t, map[string]any{"status": "approved"})
}

func TestPostgresOutage(t *testing.T) {
	s, db, _ := startBehindProxies(t)
	u := s.SignUp(t)
	db.Cut()
	e2e.Eventually(t, "/readyz answering 503", func() bool { return s.Get(t, "/readyz").Status == http.StatusServiceUnavailable })
	r := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	e2e.Expect(t, r, http.StatusServiceUnavailable, "unavailable")
	if len(r.Body) != 1 {
		t.Fatalf("503 body leaks more than the error: %s", r.Raw)
	}
	e2e.Expect(t, s.Get(t, "/healthz"), http.StatusOK)
	db.Restore()
	e2e.Eventually(t, "/readyz answering 200", func() bool { return s.Get(t, "/readyz").Status == http.StatusOK })
	s.LoginSMS(t, u)
}

func TestSIGTERMDrains(t *testing.T) {
	p := startProcess(t, e2e.SQLite, map[string]string{"SECRET_KEY": base64.StdEncoding.EncodeToString(core.RandomBytes(32))})
	u := p.SignUp(t)
	l := p.StartLogin(t, u)
	ws := p.MustWS(t, l)
	ws.ExpectFrame(t, map[string]any{"status": "pending"})

	// Five signups are held inside their handler (the SMS gateway does not
	// answer yet) when SIGTERM arrives; each must still be answered in full.
	arrived, release := p.SMS.Hold()
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
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ws.ExpectClose(t, websocket.CloseGoingAway)
	release()
	for i := 0; i < inFlight; i++ {
		if st := <-results; st != "201 Created" {
			t.Fatalf("a request in flight at SIGTERM got %q", st)
		}
	}
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			t.Fatalf("approvald exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("approvald did not exit within 15 s of SIGTERM")
	}
}
