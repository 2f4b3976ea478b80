package oidcclient_test

import (
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/oidcclient"
)

func confidential(uris ...string) *core.OIDCClient {
	return &core.OIDCClient{ID: oidcclient.NewID(), Name: "Wiki", RedirectURIs: uris, SecretHash: "hmac-sha256$x"}
}

func public(uris ...string) *core.OIDCClient {
	return &core.OIDCClient{ID: oidcclient.NewID(), Name: "Tool", RedirectURIs: uris, Public: true}
}

// wantInvalid checks that err is invalid_request about field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := err.(*core.Error)
	if !ok || e.Code != core.EInvalidRequest || e.Field != field {
		t.Fatalf("error %v, want invalid_request on %s", err, field)
	}
}

func TestRedirectURIRules(t *testing.T) {
	tests := []struct {
		uri                  string
		confidential, public bool // accepted for a confidential client, for a public one
	}{
		{"https://wiki.example.com/callback", true, true},
		{"https://wiki.example.com:8443/cb?tenant=a", true, true}, // a query is part of the URI
		{"https://wiki.example.com", true, true},
		{"https://[2001:db8::1]/cb", true, true},
		// http only on loopback.
		{"http://127.0.0.1/callback", true, true},
		{"http://127.0.0.1:51004/oauth2redirect", true, true},
		{"http://127.255.0.9/cb", true, true}, // all of 127.0.0.0/8
		{"http://[::1]:8080/cb", true, true},
		{"http://localhost:3000/cb", true, true},
		{"http://LOCALHOST/cb", true, true},
		{"http://wiki.example.com/callback", false, false},
		{"http://10.0.0.1/cb", false, false},
		{"http://192.168.1.1/cb", false, false},
		{"http://[::2]/cb", false, false},
		{"http://[fe80::1%25lo]/cb", false, false}, // a zone
		{"http://localhost.example.com/cb", false, false},
		{"http://127.0.0.1.nip.io/cb", false, false},
		{"http://0177.0.0.1/cb", false, false}, // octal spelling: not parsed as an address
		{"http://2130706433/cb", false, false}, // 127.0.0.1 as a number: neither
		{"http:/127.0.0.1/cb", false, false},   // no host
		{"http:127.0.0.1", false, false},       // opaque
		// Fragments, even empty ones.
		{"https://wiki.example.com/cb#frag", false, false},
		{"https://wiki.example.com/cb#", false, false},
		{"http://127.0.0.1/cb#x", false, false},
		// Not absolute, no host, user info.
		{"/callback", false, false},
		{"wiki.example.com/callback", false, false},
		{"//wiki.example.com/callback", false, false},
		{"https:///callback", false, false},
		{"https:wiki.example.com", false, false},
		{"https://user:pass@wiki.example.com/cb", false, false},
		{"https://user@wiki.example.com/cb", false, false},
		// Spaces, controls, non-ASCII: percent-encoded or refused.
		{"https://wiki.example.com/a b", false, false},
		{"https://wiki.example.com/cb\n", false, false},
		{"https://wiki.example.com/é", false, false},
		{"https://wiki.example.com/%C3%A9", true, true},
		{"", false, false},
		{"https://wiki.example.com/" + strings.Repeat("a", 2000), false, false},
		// Native apps' private-use schemes (RFC 8252 §7.1): public clients
		// only, and only schemes named after a reversed domain.
		{"com.example.app:/oauth2redirect", false, true},
		{"com.example.app://callback", false, true},
		{"myapp://callback", false, false},
		{"javascript:alert(1)", false, false},
		{"data:text/html,hi", false, false},
		{"file:///etc/passwd", false, false},
		{"ftp://wiki.example.com/cb", false, false},
		{"com.example.app:/cb#x", false, false},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			client *core.OIDCClient
			want   bool
		}{{confidential(tt.uri), tt.confidential}, {public(tt.uri), tt.public}} {
			err := oidcclient.Validate(c.client)
			if c.want && err != nil {
				t.Errorf("public=%v %q refused: %v", c.client.Public, tt.uri, err)
			}
			if !c.want {
				if err == nil {
					t.Errorf("public=%v %q accepted", c.client.Public, tt.uri)
				} else {
					wantInvalid(t, err, oidcclient.FieldRedirectURIs)
				}
			}
			// Post-logout redirect URIs follow the same rules.
			logout := *c.client
			logout.RedirectURIs = []string{"https://wiki.example.com/cb"}
			logout.PostLogoutRedirectURIs = []string{tt.uri}
			err = oidcclient.Validate(&logout)
			if c.want != (err == nil) {
				t.Errorf("public=%v post-logout %q: error %v, want accepted %v", c.client.Public, tt.uri, err, c.want)
			}
			if err != nil {
				wantInvalid(t, err, oidcclient.FieldPostLogoutRedirectURIs)
			}
		}
	}
}

func TestValidateNameURIsAndSecret(t *testing.T) {
	ok := confidential("https://wiki.example.com/cb")
	if err := oidcclient.Validate(ok); err != nil {
		t.Fatalf("a valid client: %v", err)
	}
	tests := []struct {
		name   string
		change func(c *core.OIDCClient)
		field  string
	}{
		{"no name", func(c *core.OIDCClient) { c.Name = "" }, oidcclient.FieldName},
		{"blank name", func(c *core.OIDCClient) { c.Name = "  " }, oidcclient.FieldName},
		{"101 characters", func(c *core.OIDCClient) { c.Name = strings.Repeat("é", 101) }, oidcclient.FieldName},
		{"control character", func(c *core.OIDCClient) { c.Name = "Wiki\x1b[31m" }, oidcclient.FieldName},
		{"not UTF-8", func(c *core.OIDCClient) { c.Name = "Wiki\xff" }, oidcclient.FieldName},
		{"no redirect URI", func(c *core.OIDCClient) { c.RedirectURIs = nil }, oidcclient.FieldRedirectURIs},
		{"a redirect URI twice", func(c *core.OIDCClient) { c.RedirectURIs = []string{"https://a.example/cb", "https://a.example/cb"} }, oidcclient.FieldRedirectURIs},
		{"a post-logout URI twice", func(c *core.OIDCClient) {
			c.PostLogoutRedirectURIs = []string{"https://a.example/", "https://a.example/"}
		}, oidcclient.FieldPostLogoutRedirectURIs},
		{"confidential without a secret", func(c *core.OIDCClient) { c.SecretHash = "" }, oidcclient.FieldSecret},
		{"public with a secret", func(c *core.OIDCClient) { c.Public = true }, oidcclient.FieldSecret},
		{"ID tokens in HS256", func(c *core.OIDCClient) { c.IDTokenAlg = "HS256" }, oidcclient.FieldIDTokenAlg},
		{"ID tokens unsigned", func(c *core.OIDCClient) { c.IDTokenAlg = "none" }, oidcclient.FieldIDTokenAlg},
		{"ID tokens in es256", func(c *core.OIDCClient) { c.IDTokenAlg = "es256" }, oidcclient.FieldIDTokenAlg},
		{"ID tokens in PS256", func(c *core.OIDCClient) { c.IDTokenAlg = "PS256" }, oidcclient.FieldIDTokenAlg},
	}
	for _, tt := range tests {
		c := *ok
		tt.change(&c)
		wantInvalid(t, oidcclient.Validate(&c), tt.field)
	}
	for _, alg := range []string{"", "RS256", "ES256", "EdDSA"} {
		c := *ok
		c.IDTokenAlg = alg
		if err := oidcclient.Validate(&c); err != nil {
			t.Fatalf("ID tokens in %q: %v", alg, err)
		}
	}
	c := *ok
	c.Name = strings.Repeat("é", 100)
	if err := oidcclient.Validate(&c); err != nil {
		t.Fatalf("a name of 100 characters: %v", err)
	}
}

// A redirect URI matches itself only: no case folding, no trailing slash,
// no prefix, no query, no port or default-port leeway, no decoding.
func TestRedirectAllowedIsExact(t *testing.T) {
	c := confidential("https://wiki.example.com/callback", "http://127.0.0.1:8400/cb")
	c.PostLogoutRedirectURIs = []string{"https://wiki.example.com/bye"}
	for _, uri := range c.RedirectURIs {
		if !oidcclient.RedirectAllowed(c, uri) {
			t.Errorf("%q refused", uri)
		}
	}
	for _, uri := range []string{
		"https://wiki.example.com/callback/",
		"https://wiki.example.com/Callback",
		"https://WIKI.example.com/callback",
		"HTTPS://wiki.example.com/callback",
		"https://wiki.example.com/callback?x=1",
		"https://wiki.example.com/callback?",
		"https://wiki.example.com/callback#",
		"https://wiki.example.com/callbackx",
		"https://wiki.example.com/callback/../callback",
		"https://wiki.example.com/%63allback",
		"https://wiki.example.com:443/callback",
		"https://wiki.example.com.evil.example/callback",
		"https://wiki.example.com",
		"http://wiki.example.com/callback",
		"http://127.0.0.1:8401/cb",
		"http://localhost:8400/cb",
		"http://127.0.0.1:8400/cb ",
		"",
		"https://wiki.example.com/bye", // a post-logout URI is not a redirect URI
	} {
		if oidcclient.RedirectAllowed(c, uri) {
			t.Errorf("%q allowed", uri)
		}
	}
	if !oidcclient.PostLogoutRedirectAllowed(c, "https://wiki.example.com/bye") {
		t.Error("the post-logout URI refused")
	}
	for _, uri := range []string{"https://wiki.example.com/bye/", "https://wiki.example.com/callback"} {
		if oidcclient.PostLogoutRedirectAllowed(c, uri) {
			t.Errorf("post-logout %q allowed", uri)
		}
	}
}

func TestCheckID(t *testing.T) {
	for _, id := range []string{"grafana", "wiki-2", "a.b_c~d", "A", strings.Repeat("x", 64), oidcclient.NewID()} {
		if err := oidcclient.CheckID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", 65), "with space", "a/b", "a:b", "é", "a%20"} {
		wantInvalid(t, oidcclient.CheckID(id), oidcclient.FieldID)
	}
}

func TestNewIDAndSecret(t *testing.T) {
	id := oidcclient.NewID()
	if !core.HasPrefix(id, core.PrefixOIDCClient) || oidcclient.CheckID(id) != nil {
		t.Fatalf("id %q", id)
	}
	s := oidcclient.NewSecret()
	if len(s) != 43 || strings.ContainsAny(s, "+/=") || s == oidcclient.NewSecret() {
		t.Fatalf("secret %q: want 43 URL-safe characters (256 bits), fresh each time", s)
	}
}
