package authenticator_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"slices"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
)

// Behind a proxy that serves approvald under /auth, the device signs the
// path it addresses, prefix included, and checks callback_url against the
// prefixed base URL.
func TestBehindAPathPrefix(t *testing.T) {
	proxy := httptest.NewUnstartedServer(nil)
	origin := "http://" + proxy.Listener.Addr().String()
	public := origin + "/auth"
	// ALLOWED_ORIGINS is left to its default: PUBLIC_URL's origin, without the path.
	s := e2e.Start(t, e2e.Options{Env: map[string]string{"PUBLIC_URL": public}})
	proxy.Config.Handler = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Scheme, r.Out.URL.Host = "http", s.Addr
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/auth")
		r.Out.URL.RawPath = ""
		r.Out.Host = s.Addr
	}}
	proxy.Start()
	t.Cleanup(proxy.Close)
	if s.PublicURL != public {
		t.Fatalf("server URL = %q, want PUBLIC_URL %q", s.PublicURL, public)
	}
	s.URL = public // every browser and device call goes through the proxy

	// Every browser and device call of a push login goes through the proxy.
	u, code := s.UserAndEnrollmentCode(t)
	d := s.Enroll(t, code, e2e.DeviceOptions{Push: true})
	if !strings.HasPrefix(d.State.DeviceID, "dev_") || d.State.Server != public {
		t.Fatalf("enrolled state = device %q server %q", d.State.DeviceID, d.State.Server)
	}
	l := s.StartLogin(t, u)
	if l.Channel != "push" {
		t.Fatalf("login channel = %q, want push (the user has a device)", l.Channel)
	}
	if l.Number < 10 || l.Number > 99 {
		t.Fatalf("match_number = %d, want two digits", l.Number)
	}
	p := d.NextPush(t) // verified by PushHandler: a refused push fails the test
	if p.ApprovalID != l.ID || p.DeviceID != d.State.DeviceID || p.CallbackURL != public+"/api/v1/callbacks/approval" {
		t.Fatalf("push = %+v, want approval %s for device %s", p, l.ID, d.State.DeviceID)
	}
	if !p.ExpiresAt.Equal(l.ExpiresAt) || p.Details.IP == "" || p.Details.Time.IsZero() {
		t.Fatalf("push details = %+v, expires %v; login expires %v", p.Details, p.ExpiresAt, l.ExpiresAt)
	}
	match := l.Number
	status, err := d.Client.Decide(t.Context(), p.ApprovalID, true, &match, false)
	if err != nil || status != "approved" {
		t.Fatalf("Decide(approve, %d) = %q, %v", match, status, err)
	}
	if a := s.Approval(t, l); a.Str("status") != "approved" {
		t.Fatalf("approval after approve = %s", a.Raw)
	}
	if amr := amrOf(t, s.Session(t, l).Str("access_token")); !slices.Contains(amr, "push") {
		t.Fatalf("amr = %v, want push among them", amr)
	}
	// A decided approval stays decided; the server's code reaches the caller.
	_, err = d.Client.Decide(t.Context(), p.ApprovalID, false, nil, false)
	var apiErr *authenticator.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || !core.IsCode(err, core.EAlreadyDecided) {
		t.Fatalf("second Decide = %v, want 409 already_decided", err)
	}

	// Pull mode signs a GET under the prefix as well; a trailing slash on
	// the server's URL is dropped at enrollment.
	u, code = s.UserAndEnrollmentCode(t)
	st, err := authenticator.Enroll(t.Context(), public+"/", code, "pulling phone", "")
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if st.Server != public {
		t.Fatalf("state server %q, want %q", st.Server, public)
	}
	l = s.StartLogin(t, u)
	list, err := authenticator.NewClient(st).Pending(t.Context())
	if err != nil || len(list) != 1 || list[0].ApprovalID != l.ID {
		t.Fatalf("Pending under a prefix = %+v, %v", list, err)
	}
	if list[0].CallbackURL != public+"/api/v1/callbacks/approval" {
		t.Fatalf("callback_url = %q", list[0].CallbackURL)
	}
	s.Approval(t, l) // the browser's read of it, through the proxy
}
