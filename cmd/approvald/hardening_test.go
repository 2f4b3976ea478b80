package main

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	_ "modernc.org/sqlite"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// Secrets at rest: after a full flow, no code, ticket, refresh token,
// enrollment code or TOTP secret stands in the database as it was sent.
func TestSecretsAreNotStoredInTheClear(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, e2e.SQLite, map[string]string{"DATABASE_URL": "sqlite:" + dir + "/a.db"})
	u := s.SignUp(t)
	signupCode := s.SMS.LastCode(t, u.Phone)
	l := s.StartLogin(t, u)
	loginCode := s.SMS.LastCode(t, u.Phone)
	e2e.Expect(t, s.Post(t, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": loginCode}, e2e.Ticket(l.Ticket)...), http.StatusOK)
	pair := s.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...)
	e2e.Expect(t, pair, http.StatusOK)
	enr := s.Post(t, "/api/v1/devices/enrollments", nil, e2e.Bearer(pair.Str("access_token"))...)
	e2e.Expect(t, enr, http.StatusCreated)
	reg := s.Post(t, "/api/v1/devices", map[string]any{"enrollment_code": enr.Str("enrollment_code"), "name": "p",
		"public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
	e2e.Expect(t, reg, http.StatusCreated)

	secrets := map[string]string{
		"signup code": signupCode, "login code": loginCode, "ticket": l.Ticket,
		"refresh token": pair.Str("refresh_token"), "enrollment code": enr.Str("enrollment_code"),
		"TOTP secret": reg.Str("totp_secret"), "password": u.Password,
	}
	db, err := sql.Open("sqlite", dir+"/a.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dump := dumpSQLite(t, db)
	for what, secret := range secrets {
		if secret == "" {
			t.Fatalf("no %s to look for", what)
		}
		if strings.Contains(dump, secret) {
			t.Errorf("the %s is stored in the clear", what)
		}
	}
}

// dumpSQLite returns every text and blob value of every table.
func dumpSQLite(t *testing.T, db *sql.DB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		r, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case string:
					b.WriteString(v + "\n")
				case []byte:
					b.Write(v)
					b.WriteString("\n")
				}
			}
		}
		r.Close()
	}
	return b.String()
}

func TestSMSBudgetPerDay(t *testing.T) {
	s := startServer(t, e2e.SQLite, map[string]string{"LIMIT_SMS_PER_PHONE_PER_DAY": "2"})
	phone := testenv.RandomPhone()
	for i := 0; i < 2; i++ {
		e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"}), http.StatusCreated)
	}
	e2e.Expect(t, s.Post(t, "/api/v1/signup", map[string]any{"name": "Ada", "phone": phone, "password": "long enough"}), http.StatusTooManyRequests, "rate_limited")
}

// A signup followed at once by an SMS login works: the resend cooldown is
// per verification or approval, not per phone.
func TestSignupThenSMSLoginAtOnce(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	u := s.SignUp(t)
	s.LoginSMS(t, u)
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	r := s.Do(t, e2e.Request{Method: "GET", Path: "/healthz", Headers: map[string]string{"X-Big": strings.Repeat("a", 16<<10)}})
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("a 16 KiB header got %d", r.Status)
	}
}

// Clients send nothing but control frames: a message over 4 KiB ends the
// websocket (1009, message too big).
func TestWebsocketReadLimit(t *testing.T) {
	s := startServer(t, e2e.SQLite, nil)
	u := s.SignUp(t)
	l := s.StartLogin(t, u)
	ws := s.MustWS(t, l)
	ws.Next(t)
	if err := ws.Conn.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 5<<10))); err != nil {
		t.Fatal(err)
	}
	ws.ExpectClose(t, websocket.CloseMessageTooBig)
}
