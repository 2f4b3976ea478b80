package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// The HTTP tests start the real program with run(), on the embedded default
// (SQLite + in-process broker) and on PostgreSQL + Redis, and talk to it over
// loopback. SMS goes to a local webhook that records every message.

type backend string

const (
	sqliteBackend   backend = "sqlite"
	postgresBackend backend = "postgres"
)

// forEachBackend runs f once per backend as subtests.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range []backend{sqliteBackend, postgresBackend} {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// smsInbox is a fake SMS gateway speaking the webhook provider's format.
type smsInbox struct {
	mu   sync.Mutex
	msgs map[string][]string
	srv  *httptest.Server
	fail bool
	// held, when set, receives a note per message and holds the gateway's
	// answer until release is closed (requests stuck mid-handler).
	held    chan string
	release chan struct{}
}

// holdMessages makes the gateway keep every sender waiting until the
// returned release function is called.
func (in *smsInbox) holdMessages() (arrived <-chan string, release func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.held, in.release = make(chan string, 100), make(chan struct{})
	return in.held, sync.OnceFunc(func() { close(in.release) })
}

func newSMSInbox(t *testing.T) *smsInbox {
	in := &smsInbox{msgs: map[string][]string{}}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ To, Body string }
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil || m.To == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		in.mu.Lock()
		held, release := in.held, in.release
		in.mu.Unlock()
		if held != nil {
			held <- m.To
			<-release
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.fail {
			http.Error(w, "gateway down", http.StatusBadGateway)
			return
		}
		in.msgs[m.To] = append(in.msgs[m.To], m.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *smsInbox) messages(phone string) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.msgs[phone]...)
}

func (in *smsInbox) setFailing(fail bool) {
	in.mu.Lock()
	in.fail = fail
	in.mu.Unlock()
}

var codeInSMS = regexp.MustCompile(`code is (\d{6})`)

// lastCode returns the code of the newest code message sent to phone.
func (in *smsInbox) lastCode(t *testing.T, phone string) string {
	t.Helper()
	msgs := in.messages(phone)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := codeInSMS.FindStringSubmatch(msgs[i]); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no code was texted to %s (messages: %q)", phone, msgs)
	return ""
}

// syncBuffer is an io.Writer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// perIPLimitsOff lifts the per-IP limits and the service-wide SMS budget:
// every test client is 127.0.0.1 and the test Redis is shared (the budget
// by every test server on it), so they would trip across tests. The limits
// have tests of their own that set them low.
var perIPLimitsOff = map[string]string{
	"LIMIT_SIGNUPS_PER_IP_PER_HOUR": "1000000",
	"LIMIT_LOGIN_FAILURES_PER_IP":   "1000000",
	"LIMIT_ENROLL_FAILURES_PER_IP":  "1000000",
	"LIMIT_RESENDS_PER_IP_PER_HOUR": "1000000",
	"SMS_BUDGET_PER_HOUR":           "1000000",
}

type testServer struct {
	URL    string
	SMS    *smsInbox
	Logs   *syncBuffer
	client *http.Client // nil: http.DefaultClient
	env    map[string]string
	cancel context.CancelFunc
	done   chan error
}

// listeningLine gives the address a server listens on (its PUBLIC_URL may differ).
var listeningLine = regexp.MustCompile(`approvald is listening on (\S+) — open \S+`)

// startServer runs approvald on b with env overriding the test defaults.
func startServer(t *testing.T, b backend, env map[string]string) *testServer {
	t.Helper()
	inbox := newSMSInbox(t)
	e := map[string]string{
		"ADDR":            "127.0.0.1:0",
		"SMS_PROVIDER":    "webhook",
		"SMS_WEBHOOK_URL": inbox.srv.URL,
		"LOG_LEVEL":       "debug",
		"SWEEP_INTERVAL":  "100ms",
	}
	for k, v := range perIPLimitsOff {
		e[k] = v
	}
	switch b {
	case sqliteBackend:
		e["DATABASE_URL"] = "sqlite:" + t.TempDir() + "/approvald.db"
	case postgresBackend:
		e["DATABASE_URL"] = testenv.PostgresURL(t)
		e["REDIS_URL"] = testenv.RedisURL(t)
		e["SECRET_KEY"] = base64.StdEncoding.EncodeToString(core.RandomBytes(32))
	}
	for k, v := range env {
		e[k] = v
	}
	return startWithEnv(t, e, inbox)
}

func startWithEnv(t *testing.T, e map[string]string, inbox *smsInbox) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{SMS: inbox, Logs: &syncBuffer{}, env: e, cancel: cancel, done: make(chan error, 1)}
	stdout := &syncBuffer{}
	go func() {
		s.done <- run(ctx, []string{"approvald"}, func(k string) string { return e[k] }, stdout, s.Logs)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for s.URL == "" {
		if m := listeningLine.FindStringSubmatch(stdout.String()); m != nil {
			s.URL = "http://" + m[1]
			break
		}
		select {
		case err := <-s.done:
			cancel()
			t.Fatalf("approvald stopped at start-up: %v\n%s", err, s.Logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("approvald did not start in 30 s\n%s", s.Logs.String())
		}
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down gracefully and checks that it stopped cleanly.
func (s *testServer) stop(t *testing.T) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("approvald stopped with error: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("approvald did not shut down within 15 s")
	}
}

// response is an HTTP answer with its decoded JSON body.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (r *response) str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

// errorCode is the contract's error.code of the body.
func (r *response) errorCode() string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

type request struct {
	method  string
	path    string
	body    any // marshalled as JSON unless it is a string or []byte
	headers map[string]string
}

func (s *testServer) do(t *testing.T, r request) *response {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(r.method, s.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	client := http.DefaultClient
	if s.client != nil {
		client = s.client
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", r.method, r.path, raw)
		}
	}
	return out
}

func (s *testServer) post(t *testing.T, path string, body any, headers ...string) *response {
	t.Helper()
	return s.do(t, request{method: http.MethodPost, path: path, body: body, headers: pairs(headers)})
}

func (s *testServer) get(t *testing.T, path string, headers ...string) *response {
	t.Helper()
	return s.do(t, request{method: http.MethodGet, path: path, headers: pairs(headers)})
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func ticketHeader(ticket string) []string { return []string{"X-Approval-Ticket", ticket} }

// expect fails the test unless r has the status (and, for errors, the code).
func expect(t *testing.T, r *response, status int, code ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Raw)
	}
	if len(code) > 0 && r.errorCode() != code[0] {
		t.Fatalf("error code %q, want %q; body %s", r.errorCode(), code[0], r.Raw)
	}
}

// testUser is a verified user of a test server.
type testUser struct {
	ID, Phone, Email, Password string
}

// signupVerified creates and verifies an account.
func (s *testServer) signupVerified(t *testing.T) testUser {
	t.Helper()
	a := testUser{Phone: testenv.RandomPhone(), Password: "correct horse battery"}
	a.Email = strings.ToLower(strings.TrimPrefix(a.Phone, "+")) + "@example.com"
	r := s.post(t, "/api/v1/signup", map[string]any{"name": "Ada", "email": a.Email, "phone": a.Phone, "password": a.Password})
	expect(t, r, http.StatusCreated)
	a.ID = r.str("user_id")
	r = s.post(t, "/api/v1/signup/verify", map[string]any{"verification_id": r.str("verification_id"), "code": s.SMS.lastCode(t, a.Phone)})
	expect(t, r, http.StatusOK)
	return a
}

// loginSMS logs in a user without devices and completes the SMS code; it
// returns the token pair's body.
func (s *testServer) loginSMS(t *testing.T, a testUser) *response {
	t.Helper()
	r := s.post(t, "/api/v1/login", map[string]any{"phone": a.Phone, "password": a.Password})
	expect(t, r, http.StatusAccepted)
	if r.str("channel") != "sms" {
		t.Fatalf("channel %q, want sms", r.str("channel"))
	}
	id, ticket := r.str("approval_id"), r.str("ticket")
	expect(t, s.post(t, "/api/v1/approvals/"+id+"/verify", map[string]any{"code": s.SMS.lastCode(t, a.Phone)}, ticketHeader(ticket)...), http.StatusOK)
	pair := s.post(t, "/api/v1/approvals/"+id+"/session", nil, ticketHeader(ticket)...)
	expect(t, pair, http.StatusOK)
	return pair
}
