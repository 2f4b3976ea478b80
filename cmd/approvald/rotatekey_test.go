package main

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
)

var rotatedLine = regexp.MustCompile(`new token key (\S+): published now`)

// TestRotateKey: `approvald rotate-key` beside a running instance. The new
// key shows in the instance's JWKS before it signs, then signs its tokens,
// while tokens of the old key keep working.
func TestRotateKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"KEY_RELOAD_INTERVAL": "200ms"})
		u := s.SignUp(t)
		pair := s.LoginSMS(t, u)
		oldAccess, refresh := pair.Str("access_token"), pair.Str("refresh_token")
		oldHeader, _ := jwtParts(t, oldAccess)

		var out, errOut e2e.Buffer
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
