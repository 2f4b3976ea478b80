package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

func TestSignupVerifyAndLoginWithSMS(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		phone := testenv.RandomPhone()
		national := strings.TrimPrefix(phone, "+1")
		r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": national, "country_code": "1", "password": "correct horse"})
		e2e.Expect(t, r, http.StatusCreated)
		if r.Body["expires_in"] != float64(600) || !strings.HasPrefix(r.Str("user_id"), "usr_") || !strings.HasPrefix(r.Str("verification_id"), "ver_") {
			t.Fatalf("signup body %s", r.Raw)
		}
		code := s.SMS.LastCode(t, phone) // normalized to E.164
		r = s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": r.Str("verification_id"), "code": code})
		e2e.Expect(t, r, http.StatusOK)
		if r.Body["phone_verified"] != true {
			t.Fatalf("verify body %s", r.Raw)
		}
		msgs := s.SMS.Messages(phone)
		if len(msgs) != 2 || !strings.Contains(msgs[1], "account was created") {
			t.Fatalf("want the code then a confirmation SMS, got %q", msgs)
		}

		pair := s.LoginSMS(t, e2e.User{Phone: phone, Password: "correct horse"})
		if pair.Header.Get("Cache-Control") != "no-store" || pair.Str("token_type") != "Bearer" || pair.Body["expires_in"] != float64(600) {
			t.Fatalf("token pair %s (Cache-Control %q)", pair.Raw, pair.Header.Get("Cache-Control"))
		}
		me := s.Get(t, "/api/v1/me", e2e.Bearer(pair.Str("access_token"))...)
		e2e.Expect(t, me, http.StatusOK)
		if me.Str("phone") != phone || me.Body["two_factor"] != true || me.Body["phone_verified"] != true || me.Body["devices"] != float64(0) {
			t.Fatalf("me %s", me.Raw)
		}
	})
}

func TestSignupValidation(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	ok := map[string]any{"name": "Ada", "phone": testenv.RandomPhone(), "password": "long enough"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"bad phone", with("phone", "12345"), 400, "invalid_phone", "phone"},
		{"letters in phone", with("phone", "+1415CALLME"), 400, "invalid_phone", "phone"},
		{"national without country", with("phone", "4155550100"), 400, "invalid_phone", "phone"},
		{"short password", with("password", "1234567"), 400, "weak_password", "password"},
		{"long password", with("password", strings.Repeat("x", 257)), 400, "weak_password", "password"},
		{"no name", with("name", nil), 400, "invalid_request", "name"},
		{"phone is a number", with("phone", 14155550100), 400, "invalid_request", "phone"},
		{"bad email", with("email", "not-an-email"), 400, "invalid_request", "email"},
		{"malformed JSON", `{"name": "Ada",`, 400, "invalid_request", ""},
		{"array body", `[1,2]`, 400, "invalid_request", ""},
		{"trailing data", `{"name":"Ada"} {}`, 400, "invalid_request", ""},
		{"empty body", ``, 400, "invalid_request", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.Post(t, "/api/v1/signup", c.body)
			e2e.Expect(t, r, c.status, c.code)
			e := r.Body["error"].(map[string]any)
			if f, _ := e["field"].(string); f != c.field {
				t.Fatalf("field %q, want %q (%s)", f, c.field, r.Raw)
			}
			if len(r.Body) != 1 || e["message"] == "" {
				t.Fatalf("error body must be exactly {error:{code,message[,field]}}: %s", r.Raw)
			}
		})
	}
	t.Run("8-character password is enough", func(t *testing.T) {
		e2e.Expect(t, s.Post(t, "/api/v1/signup", with("password", "12345678")), http.StatusCreated)
	})
	t.Run("wrong content type", func(t *testing.T) {
		r := s.Do(t, e2e.Request{Method: "POST", Path: "/api/v1/signup", Body: `{}`, Headers: map[string]string{"Content-Type": "text/plain"}})
		e2e.Expect(t, r, 400, "invalid_request")
	})
	t.Run("body over 64 KiB", func(t *testing.T) {
		// The server answers from the Content-Length and closes: a client
		// still writing the body may then fail with a broken pipe before it
		// reads the answer. So the request is written by hand, headers
		// only, and the answer read as the server sent it.
		conn, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/signup HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", s.Addr, 70<<10)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusRequestEntityTooLarge || body.Error.Code != "too_large" {
			t.Fatalf("a 70 KiB body: %d %+v %v, want 413 too_large", res.StatusCode, body, err)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		e2e.Expect(t, s.Get(t, "/api/v1/nope"), http.StatusNotFound, "not_found")
	})
	t.Run("unknown fields are refused by name", func(t *testing.T) {
		r := s.Post(t, "/api/v1/signup", with("favourite_colour", "blue"))
		e2e.Expect(t, r, http.StatusBadRequest, "invalid_request")
		if e := r.Body["error"].(map[string]any); e["field"] != "favourite_colour" {
			t.Fatalf("body %s", r.Raw)
		}
	})
}

func TestVerificationCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, nil)
		signup := func(phone string) string {
			r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"})
			e2e.Expect(t, r, http.StatusCreated)
			return r.Str("verification_id")
		}
		wrong := func(code string) string { // any code but the right one
			if code == "000000" {
				return "000001"
			}
			return "000000"
		}

		t.Run("five wrong codes lock the verification", func(t *testing.T) {
			phone := testenv.RandomPhone()
			id := signup(phone)
			code := s.SMS.LastCode(t, phone)
			for left := 4; left >= 1; left-- {
				r := s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id, "code": wrong(code)})
				e2e.Expect(t, r, http.StatusBadRequest, "invalid_code")
				if r.Body["attempts_left"] != float64(left) {
					t.Fatalf("attempts_left %v, want %d", r.Body["attempts_left"], left)
				}
			}
			e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id, "code": wrong(code)}), http.StatusLocked, "locked")
			e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id, "code": code}), http.StatusLocked, "locked")
		})

		t.Run("a code works once and only for its own verification", func(t *testing.T) {
			p1, p2 := testenv.RandomPhone(), testenv.RandomPhone()
			id1, id2 := signup(p1), signup(p2)
			c1 := s.SMS.LastCode(t, p1)
			if c1 != s.SMS.LastCode(t, p2) {
				e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id2, "code": c1}), http.StatusBadRequest, "invalid_code")
			}
			e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id1, "code": c1}), http.StatusOK)
			e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id1, "code": c1}), http.StatusGone, "expired")
		})

		t.Run("resend keeps the failure count and waits 30 s", func(t *testing.T) {
			phone := testenv.RandomPhone()
			id := signup(phone)
			e2e.Expect(t, s.Post(t, "/api/v1/signup/resend", map[string]any{"verification_id": id}), http.StatusTooManyRequests, "rate_limited")
			r := s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": id, "code": wrong(s.SMS.LastCode(t, phone))})
			e2e.Expect(t, r, http.StatusBadRequest, "invalid_code")
			if r.Body["attempts_left"] != float64(4) {
				t.Fatalf("attempts_left %v", r.Body["attempts_left"])
			}
		})

		t.Run("unknown verification", func(t *testing.T) {
			e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": "ver_aaaaaaaaaaaaaaaaaaaaaaaaaa", "code": "123456"}), http.StatusNotFound, "not_found")
		})

		t.Run("a second signup replaces a pending account", func(t *testing.T) {
			phone := testenv.RandomPhone()
			old := signup(phone)
			oldCode := s.SMS.LastCode(t, phone)
			fresh := signup(phone)
			e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": old, "code": oldCode}), http.StatusGone, "expired")
			e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": fresh, "code": s.SMS.LastCode(t, phone)}), http.StatusOK)
			r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Eve", "phone": phone, "password": "long enough"})
			e2e.Expect(t, r, http.StatusConflict, "phone_taken")
		})

		t.Run("email is unique, compared lower-cased", func(t *testing.T) {
			u := s.SignUp(t)
			r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Eve", "phone": testenv.RandomPhone(), "email": strings.ToUpper(u.Email), "password": "long enough"})
			e2e.Expect(t, r, http.StatusConflict, "email_taken")
		})
	})
}

func TestVerificationExpires(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"CODE_TTL": "1s"})
	phone := testenv.RandomPhone()
	r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"})
	e2e.Expect(t, r, http.StatusCreated)
	time.Sleep(1100 * time.Millisecond)
	e2e.Expect(t, s.Post(t, "/api/v1/signup/verify", map[string]any{"verification_id": r.Str("verification_id"), "code": s.SMS.LastCode(t, phone)}), http.StatusGone, "expired")
}

func TestSMSBudgetPerPhone(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	phone := testenv.RandomPhone()
	for i := 0; i < 8; i++ {
		e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"}), http.StatusCreated)
	}
	r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"})
	e2e.Expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if n := len(s.SMS.Messages(phone)); n != 8 {
		t.Fatalf("%d SMS sent, want 8", n)
	}
}

func TestFailedSMSIsUnavailable(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	s.SMS.SetFailing(true)
	r := s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": testenv.RandomPhone(), "password": "long enough"})
	e2e.Expect(t, r, http.StatusServiceUnavailable, "unavailable")
	if strings.Contains(string(r.Raw), "502") || strings.Contains(string(r.Raw), "gateway") {
		t.Fatalf("error body leaks the vendor's answer: %s", r.Raw)
	}
}
