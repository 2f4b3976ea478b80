package main

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/store"
)

var (
	rotatedLine     = regexp.MustCompile(`new token key (\S+): published now`)
	rotatedOIDCLine = regexp.MustCompile(`new OIDC key (\S+): published now`)
	// The ID-token keys of the other algorithms, each on its line.
	rotatedOIDCAlgLines = map[core.KeyPurpose]*regexp.Regexp{
		core.KeyOIDCES256: regexp.MustCompile(`new OIDC ES256 key (\S+): published now`),
		core.KeyOIDCEdDSA: regexp.MustCompile(`new OIDC EdDSA key (\S+): published now`),
	}
)

// TestRotateKey: `approvald rotate-key` beside a running instance. The new
// token key shows in the instance's JWKS before it signs, then signs its
// tokens, while tokens of the old key keep working. The OIDC key rotates in
// the same call, one being made first when the database has none.
func TestRotateKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"KEY_RELOAD_INTERVAL": "200ms"})
		u := s.SignUp(t)
		pair := s.LoginSMS(t, u)
		oldAccess, refresh := pair.Str("access_token"), pair.Str("refresh_token")
		oldHeader, _ := jwtParts(t, oldAccess)

		var out, errOut e2e.Buffer
		before := time.Now()
		if err := run(context.Background(), []string{"approvald", "rotate-key"}, func(k string) string { return s.Env[k] }, &out, &errOut); err != nil {
			t.Fatalf("rotate-key: %v\n%s", err, errOut.String())
		}
		m := rotatedLine.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("rotate-key said %q", out.String())
		}
		newKID := m[1]
		if newKID == oldHeader["kid"] {
			t.Fatal("rotate-key named the old key")
		}
		oidc := rotatedOIDCLine.FindStringSubmatch(out.String())
		if oidc == nil {
			t.Fatalf("rotate-key did not say the OIDC key rotated: %q", out.String())
		}
		checkOIDCRotated(t, s.Env, core.KeyOIDC, oidc[1], before)
		for purpose, line := range rotatedOIDCAlgLines {
			m := line.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("rotate-key did not say the %s key rotated: %q", purpose, out.String())
			}
			checkOIDCRotated(t, s.Env, purpose, m[1], before)
		}

		// Published first: in the JWKS (after a reload), beside the old key.
		deadline := time.Now().Add(10 * time.Second)
		for !jwksHas(t, s, newKID) {
			if time.Now().After(deadline) {
				t.Fatalf("the new key %s is not in the JWKS after 10 s", newKID)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !jwksHas(t, s, oldHeader["kid"].(string)) {
			t.Fatal("the old key left the JWKS at the rotation")
		}

		// Then it signs: refreshed tokens carry it (four reloads later).
		for {
			r := s.Post(t, "/api/v1/token/refresh", map[string]any{"refresh_token": refresh})
			e2e.Expect(t, r, http.StatusOK)
			refresh = r.Str("refresh_token")
			h, _ := jwtParts(t, r.Str("access_token"))
			if h["kid"] == newKID {
				e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(r.Str("access_token"))...), http.StatusOK)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tokens are still signed by %v after 10 s", h["kid"])
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The old key's token still works.
		e2e.Expect(t, s.Get(t, "/api/v1/me", e2e.Bearer(oldAccess)...), http.StatusOK)
	})
}

func jwksHas(t *testing.T, s *e2e.Server, kid string) bool {
	t.Helper()
	r := s.Get(t, "/.well-known/jwks.json")
	e2e.Expect(t, r, http.StatusOK)
	keys, _ := r.Body["keys"].([]any)
	for _, k := range keys {
		if k.(map[string]any)["kid"] == kid {
			return true
		}
	}
	return false
}

// checkOIDCRotated: env's database holds kid as its unretired ID-token key
// of purpose, activating after the rotation began, and every older key of
// purpose retired by then; sealed under env's SECRET_KEY, they load as a
// ring of the purpose's algorithm that verifies with both the new key and
// the one it replaces.
func checkOIDCRotated(t *testing.T, env map[string]string, purpose core.KeyPurpose, kid string, before time.Time) {
	t.Helper()
	ctx := context.Background()
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored, err := db.Keys(ctx, purpose)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) < 2 || stored[0].KID != kid || stored[0].RetiredAt != nil || !stored[0].CreatedAt.After(before) {
		t.Fatalf("stored OIDC keys %+v; want %s unretired and activating later, then the key it replaces", stored, kid)
	}
	for _, old := range stored[1:] {
		if old.RetiredAt == nil || old.RetiredAt.After(stored[0].CreatedAt) {
			t.Fatalf("OIDC key %s not retired by the new key's activation", old.KID)
		}
	}
	secret, err := loadSecretKey(cfg, db.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signingKeys(cfg, secret, db)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Load(ctx, keys, purpose, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	var verifying []string
	for _, vk := range ring.VerificationKeys() {
		if want := map[core.KeyPurpose]string{core.KeyOIDC: "RS256", core.KeyOIDCES256: "ES256", core.KeyOIDCEdDSA: "EdDSA"}[purpose]; vk.Alg != want {
			t.Fatalf("OIDC key %s has alg %s", vk.KID, vk.Alg)
		}
		verifying = append(verifying, vk.KID)
	}
	if !slices.Contains(verifying, kid) || !slices.Contains(verifying, stored[1].KID) {
		t.Fatalf("the OIDC ring verifies with %v; want %s and %s", verifying, kid, stored[1].KID)
	}
}
