package browsertest

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/approvald/approvald/internal/testenv"
)

// protectedApp is an application behind a reverse proxy: it trusts the
// proxy's headers to say who is signed in.
func protectedApp(t *testing.T, userHeader string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>protected</title><p id=\"user\">hello %s at %s</p>",
			html.EscapeString(r.Header.Get(userHeader)), html.EscapeString(r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// nginxInFront is nginx's auth_request against approvald's forward auth, as
// README's snippet has it: a 401 sends the browser to the login URL
// approvald names, with the address it wanted.
func nginxInFront(t *testing.T, approvald, upstream string) string {
	t.Helper()
	approvald = strings.TrimPrefix(approvald, "http://")
	upstream = strings.TrimPrefix(upstream, "http://")
	return "http://" + testenv.StartNginx(t, `
server {
	listen 127.0.0.1:{{PORT}};
	location / {
		auth_request /approvald-auth;
		auth_request_set $user $upstream_http_remote_user;
		auth_request_set $login $upstream_http_x_approvald_login_url;
		proxy_set_header Remote-User $user;
		error_page 401 =302 $login;
		proxy_pass http://`+upstream+`;
	}
	location = /approvald-auth {
		internal;
		proxy_pass http://`+approvald+`/api/v1/forward-auth;
		proxy_pass_request_body off;
		proxy_set_header Content-Length "";
		proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
	}
}`)
}

// TestNginxAndOIDCAppShareOneApproval: an app behind nginx (auth_request on
// forward auth) sends the browser to approvald's login; after one push
// approval both it and an OpenID Connect application open without another,
// and prompt=login asks again.
func TestNginxAndOIDCAppShareOneApproval(t *testing.T) {
	t.Parallel()
	rp := newRelyingParty(t, "wiki")
	e := startProvider(t, map[string]*relyingParty{"Wiki": rp})
	u, phone := userWithPhone(t, e)
	app := protectedApp(t, "Remote-User")
	proxy := nginxInFront(t, e.URL, app.URL)
	b := openBrowser(t, e.URL)

	b.visit(proxy + "/reports?q=1")
	b.waitLoginPage()
	b.submitLogin(u)
	b.approveOnPhone(phone, "")
	b.do(chromedp.WaitVisible(chromedp.CSS("#user")))
	var at string
	b.eval(`location.href`, &at)
	if got := b.text("#user"); at != proxy+"/reports?q=1" || got != "hello "+u.ID+" at /reports" {
		t.Fatalf("after the login the browser is at %s showing %q; want the app at /reports?q=1 for %s", at, got, u.ID)
	}

	// The OpenID Connect application: in at once, no login, no push.
	logins := countIn(e.Logs.String(), `"path":"/web/login"`)
	b.visit(rp.srv.URL + "/login")
	if got := b.waitApp(rp, "/callback"); got != "signed in as Ada" {
		t.Fatalf("the OIDC app says %q", got)
	}
	if n := countIn(e.Logs.String(), `"path":"/web/login"`); n != logins {
		t.Errorf("the OIDC app asked for another login (%d logins, want %d)", n, logins)
	}
	if len(phone.Pushes) != 0 {
		t.Errorf("%d pushes reached the phone after the first approval", len(phone.Pushes))
	}

	// prompt=login wants a fresh approval: the login page again.
	b.visit(rp.srv.URL + "/login?prompt=login")
	b.waitLoginPage()
	b.waitText("#login-title", "Sign in to Wiki")
	b.submitLogin(u)
	b.approveOnPhone(phone, "Wiki")
	if got := b.waitApp(rp, "/callback"); got != "signed in as Ada" {
		t.Fatalf("after prompt=login the OIDC app says %q", got)
	}
	if n := countIn(e.Logs.String(), `"path":"/web/login"`); n != logins+1 {
		t.Errorf("prompt=login: %d logins, want %d", n, logins+1)
	}
}
