package main

import (
	"encoding/base64"
	"net/http"
	"sync"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// These tests run approvald as real processes (the binary e2e builds once
// for the test binary): two instances behind one database and Redis, a
// SIGKILL in the middle of an approval, and instances racing to migrate an
// empty database.

// startProcess runs the approvald binary on b with env on top of the test
// defaults.
func startProcess(t *testing.T, b e2e.Backend, env map[string]string) *e2e.Server {
	t.Helper()
	return e2e.Start(t, e2e.Options{Backend: b, Env: env})
}

// sibling runs another instance of s's binary on s's database, Redis,
// secret key and SMS inbox.
func sibling(t *testing.T, s *e2e.Server) *e2e.Server {
	t.Helper()
	return e2e.Start(t, e2e.Options{Env: s.Env, SMS: s.SMS})
}

// sharedPublicURL is the one public URL of instances that serve one site
// (token issuer and websocket origin).
const sharedPublicURL = "http://approvald.test"

func TestTwoInstancesShareDecisions(t *testing.T) {
	a := startProcess(t, e2e.Postgres, map[string]string{"PUBLIC_URL": sharedPublicURL})
	b := sibling(t, a)
	u, dev := a.UserWithDevice(t, false)
	l := a.StartLogin(t, u)
	ws, res, err := a.DialWS(t, l.ID, l.Ticket, sharedPublicURL)
	if err != nil {
		t.Fatalf("websocket on A: %v %v", err, res)
	}
	ws.ExpectFrame(t, map[string]any{"status": "pending"})

	// The device talks to instance B.
	dev.State.Server = b.URL
	if st, err := dev.Decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
		t.Fatalf("decide on B: %q %v", st, err)
	}
	// A never re-reads a waiting approval on its own (only after a broker
	// reconnect): the frame can only have come through the broker.
	ws.ExpectFrame(t, map[string]any{"status": "approved"})
	// The session can be taken on either instance, once.
	e2e.Expect(t, b.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...), http.StatusOK)
	e2e.Expect(t, a.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...), http.StatusConflict, "already_exchanged")
}

func TestSIGKILLLosesNothing(t *testing.T) {
	for _, bk := range e2e.Backends {
		t.Run(string(bk), func(t *testing.T) {
			var env map[string]string
			origin := ""
			if bk == e2e.Postgres {
				env, origin = map[string]string{"PUBLIC_URL": sharedPublicURL}, sharedPublicURL
			}
			first := startProcess(t, bk, env)
			u, dev := first.UserWithDevice(t, false)
			l := first.StartLogin(t, u)
			if err := first.Kill(); err != nil {
				t.Fatal(err)
			}

			second := sibling(t, first)
			dev.State.Server = second.URL
			if st, err := dev.Decide(t, l.ID, true, l.Number, false); err != nil || st != "approved" {
				t.Fatalf("decide after restart: %q %v", st, err)
			}
			if origin == "" {
				origin = second.URL
			}
			ws, res, err := second.DialWS(t, l.ID, l.Ticket, origin)
			if err != nil {
				t.Fatalf("websocket after restart: %v %v", err, res)
			}
			ws.ExpectFrame(t, map[string]any{"status": "approved"})
			e2e.Expect(t, second.Post(t, "/api/v1/approvals/"+l.ID+"/session", nil, e2e.Ticket(l.Ticket)...), http.StatusOK)
		})
	}
}

func TestInstancesStartTogetherOnAnEmptyDatabase(t *testing.T) {
	env := map[string]string{
		"PUBLIC_URL":   sharedPublicURL,
		"DATABASE_URL": testenv.PostgresURL(t),
		"REDIS_URL":    testenv.RedisURL(t),
		"SECRET_KEY":   base64.StdEncoding.EncodeToString(core.RandomBytes(32)),
	}
	inbox := e2e.NewInbox(t)
	var wg sync.WaitGroup
	procs := make([]*e2e.Server, 3)
	for i := range procs {
		wg.Go(func() { procs[i] = e2e.Start(t, e2e.Options{Backend: e2e.Postgres, Env: env, SMS: inbox}) })
	}
	wg.Wait()
	if t.Failed() { // a start failed in its goroutine: its Server is nil
		t.FailNow()
	}
	for _, p := range procs {
		e2e.Expect(t, p.Get(t, "/readyz"), http.StatusOK)
	}
	// They agree on the signing key: a token from one is accepted by another.
	u := procs[0].SignUp(t)
	pair := procs[1].LoginSMS(t, u)
	e2e.Expect(t, procs[2].Get(t, "/api/v1/me", e2e.Bearer(pair.Str("access_token"))...), http.StatusOK)
}
