package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// The fuzz targets drive the real router in process (app.Test, no network)
// on the embedded default: no input may panic the server or make it answer
// 500.

type fuzzApp struct {
	app    *fiber.App
	sms    *e2e.Buffer
	log    *e2e.Buffer // warnings and errors, for a failure's message
	bearer string
	apr    string // an approval id
	ticket string
}

var (
	fuzzOnce sync.Once
	fuzzA    *fuzzApp
)

func newFuzzApp(t testing.TB) *fuzzApp {
	fuzzOnce.Do(func() {
		env := map[string]string{"DATABASE_URL": "sqlite:" + sharedDir + "/fuzz.db", "LOG_LEVEL": "error"}
		for k, v := range e2e.LiftedLimits() {
			env[k] = v
		}
		cfg, err := loadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		cfg.setPublicURL("127.0.0.1:8080")
		ctx := context.Background()
		db, err := openDatabase(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		f := &fuzzApp{sms: &e2e.Buffer{}, log: &e2e.Buffer{Limit: 16 << 10}}
		log := slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
		f.app, _, err = build(ctx, cfg, db, log, f.sms, make(chan struct{}))
		if err != nil {
			t.Fatal(err)
		}
		f.setup(t)
		fuzzA = f
	})
	if fuzzA == nil {
		t.Fatal("fuzz app setup failed earlier")
	}
	return fuzzA
}

var consoleCode = regexp.MustCompile(`code is (\d{6})`)

func (f *fuzzApp) lastCode() string {
	m := consoleCode.FindAllStringSubmatch(f.sms.String(), -1)
	if m == nil {
		return ""
	}
	return m[len(m)-1][1]
}

func (f *fuzzApp) call(method, path string, body []byte, headers map[string]string) (int, map[string]any) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := f.app.Test(req, -1)
	if err != nil {
		return -1, nil
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// setup makes a user with a session and a pending approval, so the
// authenticated and ticketed routes get as far as decoding their bodies.
func (f *fuzzApp) setup(t testing.TB) {
	phone := testenv.RandomPhone()
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }
	_, m := f.call("POST", "/api/v1/signup", js(map[string]any{"name": "Fuzz", "phone": phone, "password": "long enough"}), nil)
	f.call("POST", "/api/v1/signup/verify", js(map[string]any{"verification_id": m["verification_id"], "code": f.lastCode()}), nil)
	_, m = f.call("POST", "/api/v1/login", js(map[string]any{"phone": phone, "password": "long enough"}), nil)
	id, ticket := m["approval_id"].(string), m["ticket"].(string)
	f.call("POST", "/api/v1/approvals/"+id+"/verify", js(map[string]any{"code": f.lastCode()}), map[string]string{"X-Approval-Ticket": ticket})
	_, m = f.call("POST", "/api/v1/approvals/"+id+"/session", nil, map[string]string{"X-Approval-Ticket": ticket})
	f.bearer, _ = m["access_token"].(string)
	_, m = f.call("POST", "/api/v1/login", js(map[string]any{"phone": phone, "password": "long enough"}), nil)
	f.apr, f.ticket = m["approval_id"].(string), m["ticket"].(string)
	if f.bearer == "" || f.apr == "" {
		t.Fatal("fuzz setup did not reach a session and a pending approval")
	}
}

// FuzzRequestBodies sends arbitrary bodies to every route that reads one.
func FuzzRequestBodies(f *testing.F) {
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/signup"}, {"POST", "/api/v1/signup/verify"}, {"POST", "/api/v1/signup/resend"},
		{"POST", "/api/v1/login"}, {"POST", "/api/v1/token/refresh"}, {"POST", "/api/v1/password"},
		{"PATCH", "/api/v1/me"}, {"POST", "/api/v1/devices"}, {"POST", "/api/v1/callbacks/approval"},
		{"POST", "/api/v1/approvals/{id}/verify"},
	}
	for i := range routes {
		for _, seed := range []string{`{}`, `null`, `[]`, `{"phone":"+14155550100","password":"x"}`, `{"name":1}`,
			`{"code":"123456"}`, `{"two_factor":"yes"}`, `{"enrollment_code":"","public_key":"@@"}`, `{"a":` + strings.Repeat("[", 500)} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		a := newFuzzApp(t)
		r := routes[int(route)%len(routes)]
		path := strings.Replace(r.path, "{id}", a.apr, 1)
		status, m := a.call(r.method, path, body, map[string]string{"Authorization": "Bearer " + a.bearer, "X-Approval-Ticket": a.ticket})
		if status < 0 || status >= 500 && status != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with %q: status %d %v; the server's warnings:\n%s", r.method, r.path, body, status, m, a.log)
		}
		if status >= 400 {
			if e, ok := m["error"].(map[string]any); !ok || e["code"] == nil {
				t.Fatalf("%s %s: %d without the error body: %v", r.method, r.path, status, m)
			}
		}
	})
}

// FuzzWebsocketGate sends arbitrary ids, tickets and origins to the
// websocket upgrade: only 400/401/403/429 may come back, never a panic.
func FuzzWebsocketGate(f *testing.F) {
	f.Add("", "", "")
	f.Add("apr_aaaaaaaaaaaaaaaaaaaaaaaaaa", "x", "http://127.0.0.1:8080")
	f.Add("../../etc", "%00", "null")
	f.Add("apr_", strings.Repeat("A", 300), "http://evil.example")
	f.Fuzz(func(t *testing.T, id, ticket, origin string) {
		a := newFuzzApp(t)
		if id == "" {
			id = a.apr // also the real approval with a fuzzed ticket
		}
		target := (&url.URL{Path: "/api/v1/approvals/" + id + "/ws", RawQuery: "ticket=" + url.QueryEscape(ticket)}).String()
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Origin", origin)
		res, err := a.app.Test(req, -1)
		if err != nil {
			return // a request the test client itself cannot send
		}
		res.Body.Close()
		switch res.StatusCode {
		case 400, 401, 403, 404, 429, 101:
		default:
			t.Fatalf("id %q ticket %q origin %q: status %d; the server's warnings:\n%s", id, ticket, origin, res.StatusCode, a.log)
		}
	})
}
