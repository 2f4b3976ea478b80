package browsertest

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/authenticator/authtest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// startSite runs approvald on a fresh PostgreSQL database and the shared
// Redis, with SMS going to a local inbox; env adds or overrides variables.
func startSite(t *testing.T, env ...string) *authtest.Env {
	t.Helper()
	base := []string{
		"DATABASE_URL=" + testenv.PostgresURL(t),
		"REDIS_URL=" + testenv.RedisURL(t),
		"SECRET_KEY=" + base64.StdEncoding.EncodeToString(core.RandomBytes(32)),
		"SWEEP_INTERVAL=100ms",
	}
	return authtest.Start(t, serverBin, append(base, env...)...)
}

// phoneDevice is an enrolled test authenticator (the protocol client the CLI
// uses) with its push endpoint on loopback.
type phoneDevice struct {
	Name   string
	State  *authenticator.State
	Client *authenticator.Client
	Pushes chan authenticator.PushRequest
	// failing makes the push endpoint answer 500, as a broken phone would.
	failing atomic.Bool
}

// enrollPhone registers a push device for the user with an enrollment code.
func enrollPhone(t *testing.T, e *authtest.Env, code string) *phoneDevice {
	t.Helper()
	d := &phoneDevice{Name: "Ada's phone", Pushes: make(chan authenticator.PushRequest, 8)}
	var receiver atomic.Pointer[authenticator.PushReceiver]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.failing.Load() || receiver.Load() == nil {
			http.Error(w, "the phone is broken", http.StatusInternalServerError)
			return
		}
		receiver.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := authenticator.Enroll(ctx, e.Server.URL, code, d.Name, srv.URL+"/push")
	if err != nil {
		t.Fatalf("enrolling the test phone: %v", err)
	}
	d.State, d.Client = st, authenticator.NewClient(st)
	receiver.Store(authenticator.PushHandler(st, func(p authenticator.PushRequest) { d.Pushes <- p }))
	return d
}

// userWithPhone signs up a user and enrolls a push device for it.
func userWithPhone(t *testing.T, e *authtest.Env) (*authtest.User, *phoneDevice) {
	t.Helper()
	u, code := e.NewUserEnrollmentCode()
	return u, enrollPhone(t, e, code)
}

func (d *phoneDevice) nextPush(t *testing.T) authenticator.PushRequest {
	t.Helper()
	select {
	case p := <-d.Pushes:
		return p
	case <-time.After(15 * time.Second):
		t.Fatal("no push reached the test phone in 15 s")
		return authenticator.PushRequest{}
	}
}

// decide answers a push as the user would: approve with the number read
// from the browser, or deny.
func (d *phoneDevice) decide(t *testing.T, approvalID string, approve bool, number int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n *int
	if approve {
		n = &number
	}
	status, err := d.Client.Decide(ctx, approvalID, approve, n, false)
	if err != nil {
		t.Fatalf("deciding the approval: %v", err)
	}
	return status
}
