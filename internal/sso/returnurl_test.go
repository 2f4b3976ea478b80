package sso_test

import (
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/sso"
)

type activeNone struct{ sso.Sessions }

// returnURLCookies is a cookie maker for ReturnURL alone, which consults no
// session.
func returnURLCookies(t *testing.T, cfg sso.Config) *sso.Cookies {
	t.Helper()
	cfg.Key = testKey('k')
	c, err := sso.New(cfg, activeNone{}, clocktest.New(start))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReturnURL(t *testing.T) {
	hostOnly := sso.Config{PublicURL: "https://login.example.com", Secure: true}
	withDomain := sso.Config{PublicURL: "https://login.example.com", Secure: true, Domain: "example.com"}
	dotDomain := sso.Config{PublicURL: "https://login.example.com", Secure: true, Domain: ".Example.com"}
	plainHTTP := sso.Config{PublicURL: "http://localhost:8080"}
	long := "https://login.example.com/" + strings.Repeat("a", 2048-len("https://login.example.com/"))

	for _, tc := range []struct {
		name string
		cfg  sso.Config
		raw  string
		want string // "" when refused
	}{
		// Without COOKIE_DOMAIN: the server's own host, any port.
		{"own host", hostOnly, "https://login.example.com/app?x=1#top", "https://login.example.com/app?x=1#top"},
		{"own host, other port", hostOnly, "https://login.example.com:8443/", "https://login.example.com:8443/"},
		{"own host, capitals", hostOnly, "HTTPS://Login.Example.COM/Path", "https://Login.Example.COM/Path"},
		{"own host, no path", hostOnly, "https://login.example.com", "https://login.example.com"},
		{"subdomain without a domain", hostOnly, "https://app.example.com/", ""},
		{"parent without a domain", hostOnly, "https://example.com/", ""},
		{"other host", hostOnly, "https://evil.com/", ""},

		// With COOKIE_DOMAIN: the domain and every host under it.
		{"subdomain", withDomain, "https://app.example.com/dash", "https://app.example.com/dash"},
		{"deep subdomain, port", withDomain, "https://a.b.example.com:9000/", "https://a.b.example.com:9000/"},
		{"the domain itself", withDomain, "https://example.com/", "https://example.com/"},
		{"server host", withDomain, "https://login.example.com/", "https://login.example.com/"},
		{"subdomain, capitals", withDomain, "https://APP.Example.com/", "https://APP.Example.com/"},
		{"domain given with a dot", dotDomain, "https://app.example.com/", "https://app.example.com/"},
		{"evil.com", withDomain, "https://evil.com/", ""},
		{"suffix trick", withDomain, "https://evil-example.com/", ""},
		{"suffix trick, no dash", withDomain, "https://evilexample.com/", ""},
		{"domain as a label of evil", withDomain, "https://example.com.evil.com/", ""},
		{"trailing dot", withDomain, "https://app.example.com./", ""},
		{"domain in the path", withDomain, "https://evil.com/.example.com", ""},
		{"domain in the query", withDomain, "https://evil.com?.example.com", ""},
		{"domain in the fragment", withDomain, "https://evil.com#.example.com", ""},

		// Userinfo and what browsers read differently from Go.
		{"userinfo", withDomain, "https://user@app.example.com/", ""},
		{"userinfo password", withDomain, "https://user:pw@app.example.com/", ""},
		{"userinfo hides the host", withDomain, "https://app.example.com@evil.com/", ""},
		{"backslash", withDomain, "https://evil.com\\@app.example.com/", ""},
		{"backslash path", withDomain, "https://app.example.com\\evil.com", ""},
		{"backslash scheme-relative", withDomain, "/\\evil.com", ""},
		{"encoded at", withDomain, "https://evil.com%40app.example.com/", ""},
		{"tab", withDomain, "https://app.example.com/\t", ""},
		{"newline", withDomain, "https://app.example.com/\n", ""},
		{"carriage return", withDomain, "https://app.example.com/\r", ""},
		{"nul", withDomain, "https://app.example.com/\x00", ""},

		// Schemes.
		{"javascript", withDomain, "javascript:alert(document.cookie)", ""},
		{"javascript with slashes", withDomain, "javascript://app.example.com/%0aalert(1)", ""},
		{"data", withDomain, "data:text/html,<script>alert(1)</script>", ""},
		{"scheme-relative", withDomain, "//evil.com/", ""},
		{"scheme-relative to own host", withDomain, "//app.example.com/", ""},
		{"relative path", withDomain, "/dashboard", ""},
		{"opaque https", withDomain, "https:app.example.com", ""},
		{"no host", withDomain, "https:///app.example.com", ""},
		{"ftp", withDomain, "ftp://app.example.com/", ""},
		{"http when the server is https", withDomain, "http://app.example.com/", ""},
		{"http, host only, https server", hostOnly, "http://login.example.com/", ""},
		{"http when the server is http", plainHTTP, "http://localhost:3000/app", "http://localhost:3000/app"},
		{"https when the server is http", plainHTTP, "https://localhost/", "https://localhost/"},
		{"http, other host", plainHTTP, "http://127.0.0.1:8080/", ""},

		// Size, and the URL as parsed and re-encoded.
		{"empty", withDomain, "", ""},
		{"at the limit", hostOnly, long, long},
		{"over-long", hostOnly, long + "a", ""},
		{"space re-encoded", withDomain, "https://app.example.com/a b?q=x y", "https://app.example.com/a%20b?q=x y"},
		{"unicode path re-encoded", withDomain, "https://app.example.com/é", "https://app.example.com/%C3%A9"},
		{"escapes kept", withDomain, "https://app.example.com/%7Efoo/a%2Fb", "https://app.example.com/%7Efoo/a%2Fb"},
		{"unicode host", withDomain, "https://ápp.example.com/", "https://%C3%A1pp.example.com/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := returnURLCookies(t, tc.cfg).ReturnURL(tc.raw)
			if tc.want == "" {
				if ok || got != "" {
					t.Fatalf("ReturnURL(%q) = %q, %v; want refused", tc.raw, got, ok)
				}
				return
			}
			if !ok || got != tc.want {
				t.Fatalf("ReturnURL(%q) = %q, %v; want %q", tc.raw, got, ok, tc.want)
			}
		})
	}
}

// Without a parseable PUBLIC_URL nothing is a safe return address.
func TestReturnURLWithoutPublicURL(t *testing.T) {
	for _, pub := range []string{"", "://bad"} {
		c := returnURLCookies(t, sso.Config{PublicURL: pub})
		if got, ok := c.ReturnURL("https://login.example.com/"); ok {
			t.Fatalf("PublicURL %q: ReturnURL = %q; want refused", pub, got)
		}
	}
}
