package authenticator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/signing"
)

// PushRequest is a login waiting for the user's decision, as a push body or
// an item of the pull listing. It carries no match number: the user reads
// it in the browser.
type PushRequest struct {
	ApprovalID string `json:"approval_id"`
	DeviceID   string `json:"device_id"`
	Message    string `json:"message"`
	// App names the application the user signs in to through the server
	// ("Sign in to Grafana"); "" for the server itself.
	App string `json:"app,omitempty"`
	// Passwordless is true when the login gave no password (the user's
	// passwordless sign-in): whoever approves it signs in with this
	// approval alone.
	Passwordless bool        `json:"passwordless,omitempty"`
	Details      PushDetails `json:"details"`
	// Context is what the server made of Details: nil when it knew nothing.
	Context     *PushContext `json:"context,omitempty"`
	ExpiresAt   time.Time    `json:"expires_at"`
	CallbackURL string       `json:"callback_url"`
}

// PushContext is the login's client in words ("near Berlin, Germany ·
// Firefox on Linux · Grafana"), each field "" when the server did not know
// it. Like Details, it comes from what the login's browser sent.
type PushContext struct {
	Browser  string `json:"browser,omitempty"`
	OS       string `json:"os,omitempty"`
	Location string `json:"location,omitempty"`
	Summary  string `json:"summary,omitempty"`
}

// PushDetails say where the login comes from. They are what the login's
// browser sent: show them, never trust them.
type PushDetails struct {
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Time      time.Time `json:"time"`
}

// Client makes a device's signed calls to its server.
type Client struct {
	State *State
	// HTTP sends the requests; nil means a client with DefaultTimeout.
	HTTP *http.Client
	// Now stamps the signatures; nil means time.Now.
	Now func() time.Time
	// KeyLearned, when set, is called after a pull answer taught State a
	// new server key (save the state).
	KeyLearned func()
}

// NewClient returns a Client for the device s.
func NewClient(s *State) *Client {
	return &Client{State: s}
}

// Pending lists the approvals this device may decide now (pull mode).
func (c *Client) Pending(ctx context.Context) ([]PushRequest, error) {
	var answer struct {
		Approvals []PushRequest `json:"approvals"`
		// The push key the server has devices pin, and, when this device
		// has not confirmed it, its statement signed by the key before.
		PushKID string                `json:"push_kid"`
		NextKey *signing.KeyStatement `json:"next_key"`
	}
	path := "/api/v1/devices/" + url.PathEscape(c.State.DeviceID) + "/approvals"
	if err := c.signed(ctx, http.MethodGet, path+c.pushKIDQuery(), nil, &answer); err != nil {
		return nil, err
	}
	if answer.NextKey != nil {
		learned, err := c.State.LearnServerKey(*answer.NextKey)
		if err != nil {
			return nil, err
		}
		if learned && c.KeyLearned != nil {
			c.KeyLearned()
		}
	}
	return answer.Approvals, nil
}

// Decide answers an approval: approve with the number the browser shows, or
// deny (report: "this was not me", which pauses pushes for the user). It
// returns the approval's new status, "approved" or "denied"; a wrong number
// denies the approval for good.
func (c *Client) Decide(ctx context.Context, approvalID string, approve bool, matchNumber *int, report bool) (string, error) {
	if approve && matchNumber == nil {
		return "", errors.New("approving needs the number shown in the browser")
	}
	decision := "deny"
	if approve {
		decision = "approve"
	}
	body, err := json.Marshal(struct {
		ApprovalID  string `json:"approval_id"`
		DeviceID    string `json:"device_id"`
		Decision    string `json:"decision"`
		MatchNumber *int   `json:"match_number,omitempty"`
		Report      bool   `json:"report"`
	}{approvalID, c.State.DeviceID, decision, matchNumber, report})
	if err != nil {
		return "", err
	}
	var answer struct {
		Status string `json:"status"`
	}
	if err := c.signed(ctx, http.MethodPost, "/api/v1/callbacks/approval"+c.pushKIDQuery(), body, &answer); err != nil {
		return "", err
	}
	return answer.Status, nil
}

// pushKIDQuery tells the server, on each signed request, which push key
// this device pins: the server's cue that it learned a new one.
func (c *Client) pushKIDQuery() string {
	return "?push_kid=" + url.QueryEscape(c.State.ServerKeyID())
}

// Code returns the device's TOTP code at now, which the browser's code
// field accepts in place of an SMS code.
func (c *Client) Code(now time.Time) (string, error) {
	secret, err := otp.DecodeSecret(c.State.TOTPSecret)
	if err != nil {
		return "", err
	}
	return otp.TOTPCode(secret, now), nil
}

// signed sends a device-signed request to the server's base URL + path. The
// signature covers the path as addressed, PUBLIC_URL's prefix included:
// exactly the request line net/http writes.
func (c *Client) signed(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := newRequest(ctx, method, c.State.Server, path, body)
	if err != nil {
		return err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	signing.Sign(c.State.PrivateKey, method, req.URL.RequestURI(), c.State.DeviceID, body, now()).Apply(req.Header)
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	return do(hc, req, out)
}
