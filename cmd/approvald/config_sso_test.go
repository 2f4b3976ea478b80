package main

import (
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/sso"
)

// COOKIE_DOMAIN must contain PUBLIC_URL's host (else the browser drops the
// single sign-on cookie and every login loops), and be a domain name.
func TestConfigCookieDomain(t *testing.T) {
	for _, c := range []struct {
		publicURL, domain string
		ok                bool
	}{
		{"https://auth.example.com", "", true},
		{"https://auth.example.com", "example.com", true},
		{"https://auth.example.com", ".Example.COM", true}, // a leading dot and capitals are the same domain
		{"https://auth.example.com", "auth.example.com", true},
		{"https://auth.example.com", "other.com", false},
		{"https://auth.example.com", "ample.com", false}, // a suffix that is not a parent domain
		{"https://auth.example.com", "com", false},       // no dot: a public suffix at best
		{"http://127.0.0.1:8080", "127.0.0.1", false},    // an address is no domain
	} {
		cfg, err := loadConfig(func(k string) string {
			return map[string]string{"PUBLIC_URL": c.publicURL, "COOKIE_DOMAIN": c.domain}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.setPublicURL("127.0.0.1:8080")
		err = cfg.checkCookieDomain()
		if (err == nil) != c.ok {
			t.Errorf("PUBLIC_URL %s, COOKIE_DOMAIN %q: %v, want ok=%v", c.publicURL, c.domain, err, c.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "COOKIE_DOMAIN: ") {
			t.Errorf("the error %q does not name COOKIE_DOMAIN", err)
		}
	}
}

func TestConfigSSOTTL(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil || cfg.SSOTTL != sso.DefaultTTL || sso.DefaultTTL != 12*time.Hour {
		t.Fatalf("default SSO_TTL %v (%v), want 12h", cfg.SSOTTL, err)
	}
	cfg, err = loadConfig(func(k string) string { return map[string]string{"SSO_TTL": "30m"}[k] })
	if err != nil || cfg.SSOTTL != 30*time.Minute {
		t.Fatalf("SSO_TTL=30m: %v, %v", cfg.SSOTTL, err)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"SSO_TTL": "soon"}[k] }); err == nil ||
		!strings.Contains(err.Error(), "SSO_TTL") {
		t.Fatalf("SSO_TTL=soon: %v, want an error naming SSO_TTL", err)
	}
}

// VAPID_SUBJECT must be a contact push services accept; unset, it is
// PUBLIC_URL over https and a postmaster address over http.
func TestConfigVAPIDSubject(t *testing.T) {
	for _, c := range []struct{ publicURL, subject, want string }{
		{"https://auth.example.com", "", "https://auth.example.com"},
		{"http://localhost:8080", "", "mailto:postmaster@localhost"},
		{"https://auth.example.com", "mailto:ops@example.com", "mailto:ops@example.com"},
		{"http://localhost:8080", "https://example.com/contact", "https://example.com/contact"},
	} {
		cfg, err := loadConfig(func(k string) string {
			return map[string]string{"PUBLIC_URL": c.publicURL, "VAPID_SUBJECT": c.subject}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.setPublicURL("127.0.0.1:8080")
		if got := cfg.vapidSubject(); got != c.want {
			t.Errorf("PUBLIC_URL %s, VAPID_SUBJECT %q: subject %q, want %q", c.publicURL, c.subject, got, c.want)
		}
	}
	for _, bad := range []string{"ops@example.com", "http://example.com", "mailto:nobody"} {
		_, err := loadConfig(func(k string) string { return map[string]string{"VAPID_SUBJECT": bad}[k] })
		if err == nil || !strings.HasPrefix(err.Error(), "VAPID_SUBJECT: ") {
			t.Errorf("VAPID_SUBJECT=%q: %v, want an error naming it", bad, err)
		}
	}
}
