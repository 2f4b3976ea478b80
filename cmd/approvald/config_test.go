package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/testenv"
)

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c.setPublicURL("127.0.0.1:8080")
	// The default address is announced as localhost (an IP address cannot
	// be a passkey's RP ID); 127.0.0.1 stays an allowed origin.
	if c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://localhost:8080" || c.DatabaseURL != "sqlite:approvald.db" ||
		c.RedisURL != "" || c.SMSProvider != "console" || c.ApprovalTTL != 120*time.Second || c.PushTimeout != 30*time.Second ||
		c.CodeTTL != 10*time.Minute || len(c.AllowedOrigins) != 2 || c.AllowedOrigins[0] != "http://localhost:8080" ||
		c.AllowedOrigins[1] != "http://127.0.0.1:8080" {
		t.Fatalf("defaults: %+v", c)
	}
}

// An ADDR that is set is announced as it is: tests listen on 127.0.0.1:0.
func TestConfigSetAddrAnnouncedAsIs(t *testing.T) {
	c, err := loadConfig(func(k string) string { return map[string]string{"ADDR": "127.0.0.1:0"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	c.setPublicURL("127.0.0.1:41234")
	if c.PublicURL != "http://127.0.0.1:41234" || len(c.AllowedOrigins) != 1 || c.AllowedOrigins[0] != "http://127.0.0.1:41234" {
		t.Fatalf("public URL %q, origins %v", c.PublicURL, c.AllowedOrigins)
	}
}

func TestConfigWebAuthnOrigins(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"WEBAUTHN_ORIGINS": "https://app.example.com/, https://login.example.com:8443"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.WebAuthnOrigins) != 2 || c.WebAuthnOrigins[0] != "https://app.example.com" || c.WebAuthnOrigins[1] != "https://login.example.com:8443" {
		t.Fatalf("WebAuthnOrigins %v", c.WebAuthnOrigins)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"WEBAUTHN_ORIGINS": "app.example.com"}[k] }); err == nil ||
		!strings.Contains(err.Error(), "WEBAUTHN_ORIGINS") {
		t.Fatalf("a bad origin: %v", err)
	}
}

func TestConfigOriginDefaultsToPublicURLOrigin(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"PUBLIC_URL": "https://login.example.com/auth/"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	c.setPublicURL("127.0.0.1:8080")
	if c.PublicURL != "https://login.example.com/auth" || c.AllowedOrigins[0] != "https://login.example.com" {
		t.Fatalf("public URL %q, origins %v", c.PublicURL, c.AllowedOrigins)
	}
}

// Loopback push targets are for development only: a server whose
// PUBLIC_URL is itself on loopback (as it is by default).
func TestConfigPushPolicy(t *testing.T) {
	for _, c := range []struct {
		publicURL, allowPrivate string
		want                    push.Policy
	}{
		{"", "", push.Policy{AllowLoopback: true}}, // derived from ADDR 127.0.0.1:8080
		{"http://localhost:8080", "", push.Policy{AllowLoopback: true}},
		{"http://[::1]:8080/auth", "", push.Policy{AllowLoopback: true}},
		{"http://127.0.0.2", "", push.Policy{AllowLoopback: true}},
		{"https://login.example.com", "", push.Policy{}},
		{"http://approvald.test", "", push.Policy{}},
		{"http://localhost.example.com", "", push.Policy{}},
		{"https://10.0.0.5", "", push.Policy{}},
		{"https://login.example.com", "true", push.Policy{AllowPrivate: true}},
		{"http://127.0.0.1:8080", "true", push.Policy{AllowLoopback: true, AllowPrivate: true}},
	} {
		cfg, err := loadConfig(func(k string) string {
			return map[string]string{"PUBLIC_URL": c.publicURL, "PUSH_ALLOW_PRIVATE": c.allowPrivate}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.setPublicURL("127.0.0.1:8080")
		if got := cfg.pushPolicy(); got != c.want {
			t.Errorf("PUBLIC_URL=%q PUSH_ALLOW_PRIVATE=%q: %+v, want %+v", c.publicURL, c.allowPrivate, got, c.want)
		}
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for name, value := range map[string]string{
		"ADDR":                             "nonsense",
		"PUBLIC_URL":                       "ftp://x",
		"DATABASE_URL":                     "mysql://x",
		"REDIS_URL":                        "http://x",
		"ALLOWED_ORIGINS":                  "https://a.example/path",
		"APPROVAL_TTL":                     "soon",
		"PUSH_TIMEOUT":                     "-1s",
		"CODE_TTL":                         "10",
		"SMS_PROVIDER":                     "carrier-pigeon",
		"LOG_LEVEL":                        "loud",
		"LIMIT_LOGIN_FAILURES_PER_ACCOUNT": "0",
		"LIMIT_PUSH_WINDOW":                "forever",
		"SECRET_KEYS_PREVIOUS":             "short",
		"PUSH_ALLOW_PRIVATE":               "maybe",
		"SMS_COUNTRIES":                    "US,UK",
		"SMS_BUDGET_PER_HOUR":              "0",
		"LIMIT_RESENDS_PER_IP_PER_HOUR":    "-1",
		"TRUSTED_PROXIES":                  "10.0.0.1, proxy.internal",
		"MAX_WEBSOCKETS":                   "0",
		"LIMIT_WEBSOCKETS_PER_IP":          "many",
	} {
		_, err := loadConfig(func(k string) string {
			if k == name {
				return value
			}
			return ""
		})
		if err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("%s=%q: error %v, want one naming %s", name, value, err, name)
		}
	}
}

func TestConfigTrustedProxies(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"TRUSTED_PROXIES": " 10.0.0.1, 192.168.0.0/16 ,2001:db8::/32"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.TrustedProxies) != "[10.0.0.1/32 192.168.0.0/16 2001:db8::/32]" {
		t.Fatalf("TRUSTED_PROXIES read as %v", c.TrustedProxies)
	}
}

func TestConfigWebsocketLimits(t *testing.T) {
	c, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Limits.Websockets; w.Total != 50000 || w.PerApproval != 4 || w.PerIP != 20 {
		t.Fatalf("websocket limit defaults: %+v", w)
	}
	c, err = loadConfig(func(k string) string {
		return map[string]string{"MAX_WEBSOCKETS": "7", "LIMIT_WEBSOCKETS_PER_APPROVAL": "2", "LIMIT_WEBSOCKETS_PER_IP": "3"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Limits.Websockets; w.Total != 7 || w.PerApproval != 2 || w.PerIP != 3 {
		t.Fatalf("websocket limits: %+v", w)
	}
}

func TestSecretKeyRequiredWithPostgres(t *testing.T) {
	db := testenv.PostgresURL(t)
	err := run(t.Context(), []string{"approvald"}, func(k string) string {
		return map[string]string{"DATABASE_URL": db, "ADDR": "127.0.0.1:0", "SMS_PROVIDER": "console"}[k]
	}, &e2e.Buffer{}, &e2e.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "SECRET_KEY: ") {
		t.Fatalf("without SECRET_KEY on PostgreSQL: %v", err)
	}
}
