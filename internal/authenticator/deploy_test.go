package authenticator_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/authenticator/authtest"
	"github.com/approvald/approvald/internal/testenv"
)

// The happy path on the production stack: PostgreSQL and Redis.
func TestPushApproveOnPostgresAndRedis(t *testing.T) {
	e := authtest.Start(t, approvaldBin,
		"DATABASE_URL="+testenv.PostgresURL(t),
		"REDIS_URL="+testenv.RedisURL(t),
		"SECRET_KEY="+base64.StdEncoding.EncodeToString(randomBytes(32)),
	)
	pushApproveFlow(t, e)
}

// Behind a proxy that serves approvald under /auth, the device signs the
// path it addresses, prefix included, and checks callback_url against the
// prefixed base URL.
func TestBehindAPathPrefix(t *testing.T) {
	proxy := httptest.NewUnstartedServer(nil)
	origin := "http://" + proxy.Listener.Addr().String()
	public := origin + "/auth"
	// ALLOWED_ORIGINS is set because its default, PUBLIC_URL with its path,
	// made approvald panic at start (reported to the lead).
	e := authtest.Start(t, approvaldBin, "PUBLIC_URL="+public, "ALLOWED_ORIGINS="+origin)
	proxy.Config.Handler = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Scheme, r.Out.URL.Host = "http", e.Server.Addr
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/auth")
		r.Out.URL.RawPath = ""
		r.Out.Host = e.Server.Addr
	}}
	proxy.Start()
	t.Cleanup(proxy.Close)
	if e.Server.URL != public {
		t.Fatalf("server URL = %q, want PUBLIC_URL %q", e.Server.URL, public)
	}

	pushApproveFlow(t, e) // every browser and device call goes through the proxy

	// Pull mode signs a GET under the prefix as well.
	u, code := e.NewUserEnrollmentCode()
	st, err := authenticator.Enroll(t.Context(), public, code, "pulling phone", "")
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	l := e.Login(u)
	list, err := authenticator.NewClient(st).Pending(t.Context())
	if err != nil || len(list) != 1 || list[0].ApprovalID != l.ApprovalID {
		t.Fatalf("Pending under a prefix = %+v, %v", list, err)
	}
	if list[0].CallbackURL != public+"/api/v1/callbacks/approval" {
		t.Fatalf("callback_url = %q", list[0].CallbackURL)
	}
	e.Call("GET", "/api/v1/approvals/"+l.ApprovalID, l.TicketHeader(), nil, http.StatusOK, nil)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
