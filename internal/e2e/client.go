package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/approvald/approvald/internal/testenv"
)

// Client calls approvald's JSON API at URL, as a browser would, and reads
// the codes texted to its users from SMS.
type Client struct {
	URL  string
	HTTP *http.Client // nil: http.DefaultClient
	SMS  *Inbox
}

// Request is one call; Body is sent as JSON unless it is a string or
// []byte (sent as is, still labelled JSON).
type Request struct {
	Method  string
	Path    string
	Body    any
	Headers map[string]string
}

// Response is an answer with its JSON body decoded (when it is JSON).
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// Str is the body's string field key ("" when absent).
func (r *Response) Str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

// ErrorCode is the contract's error.code of the body.
func (r *Response) ErrorCode() string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Decode unmarshals the raw body into out.
func (r *Response) Decode(tb TB, out any) {
	tb.Helper()
	if err := json.Unmarshal(r.Raw, out); err != nil {
		tb.Fatalf("decoding %s: %v", r.Raw, err)
	}
}

// Do sends r and reads the whole answer.
func (c *Client) Do(tb TB, r Request) *Response {
	tb.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("%s %s: %v", r.Method, r.Path, err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(r.Method, c.URL+r.Path, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	client := http.DefaultClient
	if c.HTTP != nil {
		client = c.HTTP
	}
	res, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the answer: %v", r.Method, r.Path, err)
	}
	out := &Response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			tb.Fatalf("%s %s: body is not JSON: %s", r.Method, r.Path, raw)
		}
	}
	return out
}

// Post sends body (nil: none) with header name, value pairs.
func (c *Client) Post(tb TB, path string, body any, headers ...string) *Response {
	tb.Helper()
	return c.Do(tb, Request{Method: http.MethodPost, Path: path, Body: body, Headers: Pairs(headers)})
}

// Get reads path with header name, value pairs.
func (c *Client) Get(tb TB, path string, headers ...string) *Response {
	tb.Helper()
	return c.Do(tb, Request{Method: http.MethodGet, Path: path, Headers: Pairs(headers)})
}

// Pairs makes name, value, name, value… into a map.
func Pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Bearer is the header pair of an access token.
func Bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// Ticket is the header pair of an approval's ticket.
func Ticket(ticket string) []string { return []string{"X-Approval-Ticket", ticket} }

// Expect fails tb unless r has the status (and, for errors, the code).
func Expect(tb TB, r *Response, status int, code ...string) {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d; body %s", r.Status, status, r.Raw)
	}
	if len(code) > 0 && r.ErrorCode() != code[0] {
		tb.Fatalf("error code %q, want %q; body %s", r.ErrorCode(), code[0], r.Raw)
	}
}

// User is a signed-up account with a verified phone.
type User struct {
	ID, Phone, Email, Password string
}

// SignUp creates an account (name Ada, a random phone) and verifies its
// phone with the texted code.
func (c *Client) SignUp(tb TB) User {
	tb.Helper()
	u := User{Phone: testenv.RandomPhone(), Password: "correct horse battery"}
	u.Email = strings.TrimPrefix(u.Phone, "+") + "@example.com"
	r := c.Post(tb, "/api/v1/signup", map[string]any{"name": "Ada", "email": u.Email, "phone": u.Phone, "password": u.Password})
	Expect(tb, r, http.StatusCreated)
	u.ID = r.Str("user_id")
	r = c.Post(tb, "/api/v1/signup/verify", map[string]any{"verification_id": r.Str("verification_id"), "code": c.SMS.LastCode(tb, u.Phone)})
	Expect(tb, r, http.StatusOK)
	return u
}

// Login is a started login: the 202 answer's fields.
type Login struct {
	ID           string    `json:"approval_id"`
	Ticket       string    `json:"ticket"`
	Channel      string    `json:"channel"`
	Number       int       `json:"match_number"`
	ExpiresAt    time.Time `json:"expires_at"`
	WebsocketURL string    `json:"websocket_url"`
}

// TicketHeader carries l's ticket.
func (l Login) TicketHeader() []string { return Ticket(l.Ticket) }

// StartLogin logs u in with the password and expects a pending approval.
func (c *Client) StartLogin(tb TB, u User) Login {
	tb.Helper()
	r := c.Post(tb, "/api/v1/login", map[string]any{"phone": u.Phone, "password": u.Password})
	Expect(tb, r, http.StatusAccepted)
	var l Login
	r.Decode(tb, &l)
	if l.WebsocketURL != "/api/v1/approvals/"+l.ID+"/ws" || l.ExpiresAt.IsZero() {
		tb.Fatalf("login body %s", r.Raw)
	}
	return l
}

// Approval reads l's approval with its ticket (200 expected).
func (c *Client) Approval(tb TB, l Login) *Response {
	tb.Helper()
	r := c.Get(tb, "/api/v1/approvals/"+l.ID, l.TicketHeader()...)
	Expect(tb, r, http.StatusOK)
	return r
}

// Verify submits a second-factor code (SMS or TOTP) for l.
func (c *Client) Verify(tb TB, l Login, code string) *Response {
	tb.Helper()
	return c.Post(tb, "/api/v1/approvals/"+l.ID+"/verify", map[string]any{"code": code}, l.TicketHeader()...)
}

// Session exchanges l's approved approval for a token pair (200 expected).
func (c *Client) Session(tb TB, l Login) *Response {
	tb.Helper()
	r := c.Post(tb, "/api/v1/approvals/"+l.ID+"/session", nil, l.TicketHeader()...)
	Expect(tb, r, http.StatusOK)
	return r
}

// LoginSMS logs in a user without devices with the texted code and
// returns the token pair's answer (a session with a second factor, good
// for risky changes).
func (c *Client) LoginSMS(tb TB, u User) *Response {
	tb.Helper()
	l := c.StartLogin(tb, u)
	if l.Channel != "sms" {
		tb.Fatalf("login channel %q, want sms (a user without a device)", l.Channel)
	}
	Expect(tb, c.Verify(tb, l, c.SMS.LastCode(tb, u.Phone)), http.StatusOK)
	return c.Session(tb, l)
}

// EnrollmentCode asks for a device enrollment code with an access token.
func (c *Client) EnrollmentCode(tb TB, accessToken string) string {
	tb.Helper()
	r := c.Post(tb, "/api/v1/devices/enrollments", nil, Bearer(accessToken)...)
	Expect(tb, r, http.StatusCreated)
	if r.Str("enrollment_code") == "" {
		tb.Fatalf("enrollment answer without enrollment_code: %s", r.Raw)
	}
	return r.Str("enrollment_code")
}

// UserAndEnrollmentCode signs up a user, logs in by SMS and returns an
// enrollment code for the user's first device.
func (c *Client) UserAndEnrollmentCode(tb TB) (User, string) {
	tb.Helper()
	u := c.SignUp(tb)
	return u, c.EnrollmentCode(tb, c.LoginSMS(tb, u).Str("access_token"))
}
