package testenv_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/testenv"
)

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, string(body)
}

// TestNginxAuthRequest: nginx's auth_request asks the auth handler about
// every request, answers its 401 or 403 itself, and passes the request on to
// the upstream, with the user the handler named, only on its 2xx.
func TestNginxAuthRequest(t *testing.T) {
	t.Parallel()
	var upstreamHits atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamHits.Add(1)
		io.WriteString(w, "upstream "+r.URL.Path+" for "+r.Header.Get("X-Auth-User"))
	}))
	defer upstream.Close()
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/check" {
			t.Errorf("the auth request went to %s, want /check", r.URL.Path)
		}
		switch r.Header.Get("Authorization") {
		case "Bearer alice":
			if got := r.Header.Get("X-Original-URI"); got != "/page?x=1" {
				t.Errorf("X-Original-URI = %q, want /page?x=1", got)
			}
			w.Header().Set("X-Auth-User", "alice")
			w.WriteHeader(http.StatusOK)
		case "Bearer mallory":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer auth.Close()

	addr := testenv.StartNginx(t, `
server {
	listen 127.0.0.1:{{PORT}};
	location / {
		auth_request /auth;
		auth_request_set $auth_user $upstream_http_x_auth_user;
		proxy_set_header X-Auth-User $auth_user;
		proxy_pass `+upstream.URL+`;
	}
	location = /auth {
		internal;
		proxy_pass `+auth.URL+`/check;
		proxy_pass_request_body off;
		proxy_set_header Content-Length "";
		proxy_set_header X-Original-URI $request_uri;
	}
}`)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("StartNginx returned %q, want 127.0.0.1:PORT", addr)
	}
	base := "http://" + addr

	for _, c := range []struct {
		authorization string
		status        int
	}{{"", http.StatusUnauthorized}, {"Bearer mallory", http.StatusForbidden}} {
		resp, _ := get(t, base+"/page?x=1", http.Header{"Authorization": {c.authorization}})
		if resp.StatusCode != c.status {
			t.Errorf("Authorization %q: nginx answered %d, want %d", c.authorization, resp.StatusCode, c.status)
		}
	}
	if n := upstreamHits.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests that the auth handler refused", n)
	}

	resp, body := get(t, base+"/page?x=1", http.Header{"Authorization": {"Bearer alice"}})
	if resp.StatusCode != http.StatusOK || body != "upstream /page for alice" {
		t.Errorf("Authorization alice: %d %q, want 200 %q", resp.StatusCode, body, "upstream /page for alice")
	}
}

// TestOAuth2ProxyOIDC: oauth2-proxy starts against an OIDC issuer (here a
// discovery document alone: it fetches nothing else before a login), keeps
// what is behind it to itself and sends a login to the issuer's
// authorization endpoint with its client id and the redirect URL on its own
// port.
func TestOAuth2ProxyOIDC(t *testing.T) {
	t.Parallel()
	// Unstarted: issuer.URL is set before the handler's goroutines start.
	var issuer *httptest.Server
	issuer = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                issuer.URL,
			"authorization_endpoint":                issuer.URL + "/authorize",
			"token_endpoint":                        issuer.URL + "/token",
			"jwks_uri":                              issuer.URL + "/jwks",
			"userinfo_endpoint":                     issuer.URL + "/userinfo",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}))
	issuer.Start()
	defer issuer.Close()

	base := testenv.StartOAuth2Proxy(t,
		"--provider=oidc",
		"--oidc-issuer-url="+issuer.URL,
		"--client-id=test-client",
		"--client-secret=test-secret",
		"--redirect-url=http://127.0.0.1:{{PORT}}/oauth2/callback",
		"--email-domain=*",
		"--upstream=static://200",
	)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("StartOAuth2Proxy returned %q, want http://127.0.0.1:PORT", base)
	}

	// The forward-auth endpoint without a session: 401.
	if resp, _ := get(t, base+"/oauth2/auth", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/oauth2/auth without a session: %d, want 401", resp.StatusCode)
	}

	resp, _ := get(t, base+"/oauth2/start?rd=/", nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/oauth2/start: %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != issuer.URL+"/authorize" {
		t.Errorf("the login goes to %s, want %s/authorize", got, issuer.URL)
	}
	if q.Get("client_id") != "test-client" || q.Get("redirect_uri") != base+"/oauth2/callback" || q.Get("response_type") != "code" {
		t.Errorf("the login's query is %v, want client_id test-client, redirect_uri %s/oauth2/callback, response_type code", q, base)
	}
}
