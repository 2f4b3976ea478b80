package authtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// Env is one running approvald with its SMS inbox, seen from the browser.
type Env struct {
	T      testing.TB
	Server *Server
	SMS    *SMSInbox
	HTTP   *http.Client
}

// Start runs bin (from BuildServer) with SMS going to a fresh inbox, plus
// the given extra environment.
func Start(t testing.TB, bin string, env ...string) *Env {
	t.Helper()
	in := NewSMSInbox(t)
	env = append([]string{"SMS_PROVIDER=webhook", "SMS_WEBHOOK_URL=" + in.URL}, env...)
	srv := StartServer(t, bin, env...)
	return &Env{T: t, Server: srv, SMS: in, HTTP: &http.Client{Timeout: 15 * time.Second}}
}

// Try sends a JSON request (body nil: none) and returns the status and the
// raw answer.
func (e *Env) Try(method, path string, header http.Header, body any) (int, []byte) {
	e.T.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.T.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.Server.URL+path, r)
	if err != nil {
		e.T.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, raw
}

// Call is Try that fails the test unless the status is want, and decodes
// the answer into out (unless nil).
func (e *Env) Call(method, path string, header http.Header, body any, want int, out any) {
	e.T.Helper()
	status, raw := e.Try(method, path, header, body)
	if status != want {
		e.T.Fatalf("%s %s = %d %s, want %d", method, path, status, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.T.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

// User is a signed-up account with a verified phone.
type User struct {
	ID, Phone, Password string
}

// SignUp creates an account and verifies its phone with the SMS code.
func (e *Env) SignUp() *User {
	e.T.Helper()
	u := &User{Phone: testenv.RandomPhone(), Password: "correct horse " + core.NewSecret(6)}
	var started struct {
		UserID         string `json:"user_id"`
		VerificationID string `json:"verification_id"`
	}
	e.Call("POST", "/api/v1/signup", nil, map[string]string{"name": "Ada", "phone": u.Phone, "password": u.Password},
		http.StatusCreated, &started)
	u.ID = started.UserID
	code := e.SMS.NextCode(e.T, u.Phone)
	e.Call("POST", "/api/v1/signup/verify", nil, map[string]string{"verification_id": started.VerificationID, "code": code},
		http.StatusOK, nil)
	return u
}

// Login is the 202 answer to a password login: a pending approval.
type Login struct {
	ApprovalID   string    `json:"approval_id"`
	Ticket       string    `json:"ticket"`
	Channel      string    `json:"channel"`
	MatchNumber  int       `json:"match_number"`
	ExpiresAt    time.Time `json:"expires_at"`
	WebsocketURL string    `json:"websocket_url"`
}

// Login logs u in with the password and expects a pending approval.
func (e *Env) Login(u *User) *Login {
	e.T.Helper()
	var l Login
	e.Call("POST", "/api/v1/login", nil, map[string]string{"phone": u.Phone, "password": u.Password}, http.StatusAccepted, &l)
	return &l
}

// TicketHeader carries l's ticket to the approval's browser-side endpoints.
func (l *Login) TicketHeader() http.Header {
	return http.Header{"X-Approval-Ticket": {l.Ticket}}
}

// Approval is the polling view of an approval.
type Approval struct {
	Status      string    `json:"status"`
	Channel     string    `json:"channel"`
	Reason      string    `json:"reason"`
	ExpiresAt   time.Time `json:"expires_at"`
	MatchNumber int       `json:"match_number"`
}

// Approval reads l's approval with its ticket.
func (e *Env) Approval(l *Login) *Approval {
	e.T.Helper()
	var a Approval
	e.Call("GET", "/api/v1/approvals/"+l.ApprovalID, l.TicketHeader(), nil, http.StatusOK, &a)
	return &a
}

// Verify submits a second-factor code (SMS or TOTP) for l; want is the
// expected status.
func (e *Env) Verify(l *Login, code string, want int) {
	e.T.Helper()
	e.Call("POST", "/api/v1/approvals/"+l.ApprovalID+"/verify", l.TicketHeader(), map[string]string{"code": code}, want, nil)
}

// Tokens is a token pair.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Session exchanges l's approved approval for tokens.
func (e *Env) Session(l *Login) *Tokens {
	e.T.Helper()
	var tk Tokens
	e.Call("POST", "/api/v1/approvals/"+l.ApprovalID+"/session", l.TicketHeader(), nil, http.StatusOK, &tk)
	return &tk
}

// LoginWithSMS logs u in through the SMS fallback (u has no device) and
// returns fresh tokens with a second factor, good for risky changes.
func (e *Env) LoginWithSMS(u *User) *Tokens {
	e.T.Helper()
	l := e.Login(u)
	if l.Channel != "sms" {
		e.T.Fatalf("login channel = %q, want sms (a user without a device)", l.Channel)
	}
	e.Verify(l, e.SMS.NextCode(e.T, u.Phone), http.StatusOK)
	return e.Session(l)
}

// EnrollmentCode asks for a device enrollment code with tk.
func (e *Env) EnrollmentCode(tk *Tokens) string {
	e.T.Helper()
	var answer struct {
		EnrollmentCode string `json:"enrollment_code"`
		ExpiresIn      int    `json:"expires_in"`
	}
	e.Call("POST", "/api/v1/devices/enrollments", http.Header{"Authorization": {"Bearer " + tk.AccessToken}}, nil,
		http.StatusCreated, &answer)
	if answer.EnrollmentCode == "" {
		e.T.Fatal("enrollment answer without enrollment_code")
	}
	return answer.EnrollmentCode
}

// NewUserEnrollmentCode signs up a user, logs in by SMS and returns an
// enrollment code for the user's first device.
func (e *Env) NewUserEnrollmentCode() (*User, string) {
	e.T.Helper()
	u := e.SignUp()
	return u, e.EnrollmentCode(e.LoginWithSMS(u))
}
