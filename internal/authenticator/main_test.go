package authenticator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/authenticator/authtest"
)

// approvaldBin is the server under test, built once for the package.
var approvaldBin string

func TestMain(m *testing.M) { authtest.Main(m, &approvaldBin) }

// pushDevice is an enrolled device whose push endpoint is a local server
// running PushHandler; verified pushes arrive on Pushes.
type pushDevice struct {
	State  *authenticator.State
	Client *authenticator.Client
	Pushes chan authenticator.PushRequest
}

// enrollPushDevice enrolls a device with a push_url on a local server; the
// server's address is known before enrollment, its handler is set after.
func enrollPushDevice(t *testing.T, e *authtest.Env, code string) *pushDevice {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	pushURL := "http://" + srv.Listener.Addr().String() + "/push"
	st, err := authenticator.Enroll(context.Background(), e.Server.URL, code, "test phone", pushURL)
	if err != nil {
		srv.Close()
		t.Fatalf("Enroll: %v", err)
	}
	d := &pushDevice{State: st, Client: authenticator.NewClient(st), Pushes: make(chan authenticator.PushRequest, 8)}
	receiver := authenticator.PushHandler(st, func(p authenticator.PushRequest) { d.Pushes <- p })
	receiver.Rejected = func(err error) { t.Errorf("a push from the real server was refused: %v", err) }
	mux := http.NewServeMux()
	mux.Handle("/push", receiver)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return d
}

// nextPush waits for a verified push.
func (d *pushDevice) nextPush(t *testing.T) authenticator.PushRequest {
	t.Helper()
	select {
	case p := <-d.Pushes:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no push arrived within 10 s")
		return authenticator.PushRequest{}
	}
}
