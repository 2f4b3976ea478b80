package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// The reproduced toll fraud: a US premium-rate number was accepted and
// texted. Refused now, with a message, and nothing is sent.
func TestSignupRefusesPremiumRateNumbers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		for _, number := range []string{"+1 900 555 0123", "+1 800 555 0123", "+44 56 1234 5678"} {
			r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": number, "password": "long enough"})
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_phone")
			e := r.Body["error"].(map[string]any)
			if e["field"] != "phone" || !strings.Contains(e["message"].(string), "premium-rate") {
				t.Fatalf("%s: %s", number, r.Raw)
			}
		}
		if m := s.SMS.Messages("+19005550123"); len(m) != 0 {
			t.Fatalf("the premium-rate number was texted: %q", m)
		}
	})
}

func TestSMSCountries(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"SMS_COUNTRIES": "gb, IE"})
	r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": testenv.RandomPhone(), "password": "long enough"})
	e2e.Expect(t, r, http.StatusBadRequest, "invalid_phone")
	e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": "07400 123456", "country_code": "44", "password": "long enough"}), http.StatusCreated)
	if m := s.SMS.Messages("+447400123456"); len(m) != 1 {
		t.Fatalf("the GB number got %q", m)
	}
}

// Past SMS_BUDGET_PER_HOUR no code is sent, from any flow: the refusal is a
// 429, an event in the user's trail and a count in the metrics. (On the
// embedded backend: the test Redis's budget is every test server's.)
func TestSMSBudgetPerHour(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"SMS_BUDGET_PER_HOUR": "2", "METRICS_TOKEN": testMetricsToken})
	u := s.SignUp(t)                           // the budget's first
	at := s.LoginSMS(t, u).Str("access_token") // and second
	r := s.Post(t, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	e2e.Expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Bob", "phone": testenv.RandomPhone(), "password": "long enough"}),
		http.StatusTooManyRequests, "rate_limited")
	if codes := len(s.SMS.Codes(u.Phone)); codes != 2 {
		t.Fatalf("%d codes texted to the user, want 2", codes)
	}
	ev := s.Get(t, "/api/v1/me/events", e2e.Bearer(at)...)
	e2e.Expect(t, ev, http.StatusOK)
	if !strings.Contains(string(ev.Raw), `"kind":"sms_budget_exhausted"`) {
		t.Fatalf("no sms_budget_exhausted event: %s", ev.Raw)
	}
	text := scrape(t, s.URL)
	for series, want := range map[string]float64{
		`approvald_sms_codes_total{kind="login",result="budget_exhausted"}`:  1,
		`approvald_sms_codes_total{kind="signup",result="budget_exhausted"}`: 1,
		`approvald_sms_codes_total{kind="signup",result="sent"}`:             1,
		`approvald_sms_codes_total{kind="login",result="sent"}`:              1,
	} {
		if got := seriesValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// The SMS a browser asks for is limited per client address, as signups
// are. (Embedded backend: on the shared test Redis, every test server's
// clients are 127.0.0.1.)
func TestResendsPerIP(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_RESENDS_PER_IP_PER_HOUR": "2"})
	u, _ := s.UserWithDevice(t, false)
	for i := range 3 {
		l := s.StartLogin(t, u)
		if l.Channel != "push" {
			t.Fatalf("login %d: channel %s", i, l.Channel)
		}
		r := s.Post(t, "/api/v1/approvals/"+l.ID+"/sms", nil, e2e.Ticket(l.Ticket)...)
		if i < 2 {
			e2e.Expect(t, r, http.StatusAccepted)
		} else {
			e2e.Expect(t, r, http.StatusTooManyRequests, "rate_limited")
		}
	}
}

// NUL and invalid UTF-8 in a string are the client's mistake: 400 naming
// the field, on PostgreSQL too (which refuses NUL in text: it was a 503).
func TestNULAndInvalidUTF8AreInvalidRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		for _, name := range []string{`Ada\u0000Lovelace`, "Ada\xff"} {
			body := `{"name":"` + name + `","phone":"` + testenv.RandomPhone() + `","password":"long enough"}`
			r := s.Post(t, "/api/v1/signup", body)
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
			if e := r.Body["error"].(map[string]any); e["field"] != "name" {
				t.Fatalf("%q: %s", name, r.Raw)
			}
		}
		pw := `{"phone":"` + testenv.RandomPhone() + `","password":"pass\u0000word"}`
		r := s.Post(t, "/api/v1/login", pw)
		e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
		if e := r.Body["error"].(map[string]any); e["field"] != "password" {
			t.Fatalf("NUL in a password: %s", r.Raw)
		}
	})
}

// Fields the server does not know are refused by name: a client that
// thinks it set something must not hear 200.
func TestUnknownFieldsAreRefused(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	u := s.SignUp(t)
	at := s.LoginSMS(t, u).Str("access_token")
	r := s.Do(t, e2e.Request{Method: http.MethodPatch, Path: "/api/v1/me", Body: map[string]any{"dark_mode": true}, Headers: e2e.Pairs(e2e.Bearer(at))})
	e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
	if e := r.Body["error"].(map[string]any); e["field"] != "dark_mode" || !strings.Contains(e["message"].(string), `"dark_mode"`) {
		t.Fatalf("PATCH /me with dark_mode: %s", r.Raw)
	}

	enroll := s.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(at)...)
	e2e.Expect(t, enroll, http.StatusCreated)
	pub, _, _ := ed25519.GenerateKey(nil)
	device := map[string]any{
		"enrollment_code": enroll.Str("enrollment_code"), "name": "phone",
		"public_key": base64.RawURLEncoding.EncodeToString(pub),
		"fcm_token":  "a field the server does not know",
	}
	r = s.Post(t, "/api/v1/devices", device)
	e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
	if e := r.Body["error"].(map[string]any); e["field"] != "fcm_token" {
		t.Fatalf("POST /devices with fcm_token: %s", r.Raw)
	}
	delete(device, "fcm_token") // the code was not spent by the refusal
	e2e.Expect(t, s.Post(t, "/api/v1/devices", device), http.StatusCreated)
}

// A PostgreSQL deployment must choose its SMS provider; the embedded
// default keeps printing codes to the console.
func TestSMSProviderRequiredWithPostgres(t *testing.T) {
	for _, url := range []string{"postgres://approvald@127.0.0.1:1/approvald", "postgresql://approvald@127.0.0.1:1/approvald"} {
		err := run(t.Context(), []string{"approvald"}, func(k string) string {
			return map[string]string{"DATABASE_URL": url, "ADDR": "127.0.0.1:0"}[k]
		}, &e2e.Buffer{}, &e2e.Buffer{})
		if err == nil || !strings.HasPrefix(err.Error(), "SMS_PROVIDER: ") || !strings.Contains(err.Error(), "PostgreSQL") {
			t.Fatalf("%s without SMS_PROVIDER: %v", url, err)
		}
	}
	c, err := loadConfig(func(k string) string {
		return map[string]string{"DATABASE_URL": "sqlite:" + t.TempDir() + "/a.db"}[k]
	})
	if err != nil || c.SMSProvider != "console" || c.requireSMSProvider() != nil {
		t.Fatalf("SQLite without SMS_PROVIDER: %+v, %v", c, err)
	}
}
