package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
)

// Device is an enrolled authenticator: the protocol client the CLI uses,
// with, in push mode, its push endpoint on loopback.
type Device struct {
	Name   string
	State  *authenticator.State
	Client *authenticator.Client
	// Pushes receives every push that PushHandler verified.
	Pushes chan authenticator.PushRequest

	failing atomic.Bool
	lastKID atomic.Value // string: the X-Key-Id of the last push received
}

// LastKeyID is the kid (X-Key-Id) of the server key that signed the last
// push this device received; "" before the first.
func (d *Device) LastKeyID() string {
	kid, _ := d.lastKID.Load().(string)
	return kid
}

// DeviceOptions are an enrollment's choices.
type DeviceOptions struct {
	Name string // "Test phone" when empty
	Push bool   // a push_url on loopback; otherwise the device pulls
}

// Enroll registers a device with an enrollment code. A push the server
// sends that PushHandler refuses fails tb.
func (c *Client) Enroll(tb TB, code string, o DeviceOptions) *Device {
	tb.Helper()
	d := &Device{Name: o.Name, Pushes: make(chan authenticator.PushRequest, 16)}
	if d.Name == "" {
		d.Name = "Test phone"
	}
	pushURL := ""
	var receiver atomic.Pointer[authenticator.PushReceiver]
	if o.Push {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d.failing.Load() || receiver.Load() == nil {
				http.Error(w, "the phone is broken", http.StatusInternalServerError)
				return
			}
			d.lastKID.Store(r.Header.Get("X-Key-Id"))
			receiver.Load().ServeHTTP(w, r)
		}))
		tb.Cleanup(srv.Close)
		pushURL = srv.URL + "/push"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := authenticator.Enroll(ctx, c.URL, code, d.Name, pushURL)
	if err != nil {
		tb.Fatalf("enroll: %v", err)
	}
	d.State, d.Client = st, authenticator.NewClient(st)
	r := authenticator.PushHandler(st, func(p authenticator.PushRequest) { d.Pushes <- p })
	r.Rejected = func(err error) { tb.Errorf("a push from the server was refused: %v", err) }
	receiver.Store(r)
	return d
}

// EnrollDevice enrolls a device for the user whose access token is given.
func (c *Client) EnrollDevice(tb TB, accessToken string, push bool) *Device {
	tb.Helper()
	return c.Enroll(tb, c.EnrollmentCode(tb, accessToken), DeviceOptions{Push: push})
}

// UserWithDevice is a verified user with one enrolled device.
func (c *Client) UserWithDevice(tb TB, push bool) (User, *Device) {
	tb.Helper()
	u, code := c.UserAndEnrollmentCode(tb)
	return u, c.Enroll(tb, code, DeviceOptions{Push: push})
}

// FailPushes makes the push endpoint answer 500, as a broken phone would.
func (d *Device) FailPushes(fail bool) { d.failing.Store(fail) }

// NextPush waits (up to 15 s) for a verified push.
func (d *Device) NextPush(tb TB) authenticator.PushRequest {
	tb.Helper()
	select {
	case p := <-d.Pushes:
		return p
	case <-time.After(15 * time.Second):
		tb.Fatalf("no push reached the device in 15 s")
		return authenticator.PushRequest{}
	}
}

// Decide answers an approval (signed callback): approve with the number
// read from the browser, or deny, with report for "not me".
func (d *Device) Decide(tb TB, approvalID string, approve bool, number int, report bool) (string, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n *int
	if approve {
		n = &number
	}
	return d.Client.Decide(ctx, approvalID, approve, n, report)
}

// MustDecide is Decide that fails tb on an error.
func (d *Device) MustDecide(tb TB, approvalID string, approve bool, number int, report bool) string {
	tb.Helper()
	status, err := d.Decide(tb, approvalID, approve, number, report)
	if err != nil {
		tb.Fatalf("deciding %s: %v", approvalID, err)
	}
	return status
}
