package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/approvald/approvald/internal/e2e"
)

// TestOIDCIDTokenAlgorithms: each client gets its ID tokens in the
// algorithm it registered (id_token_signed_response_alg), from the code
// exchange and from a refresh, each verifying with go-oidc restricted to
// that algorithm against the discovered JWKS, at_hash included; discovery
// offers the three, the JWKS lists a key of each; an id_token_hint of each
// algorithm ends its session.
func TestOIDCIDTokenAlgorithms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		u, d := env.UserWithDevice(t, true)
		br := env.browser(t)

		var doc struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := env.provider.Claims(&doc); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(doc.Algs, []string{"RS256", "ES256", "EdDSA"}) {
			t.Fatalf("id_token_signing_alg_values_supported %v; want RS256, ES256, EdDSA", doc.Algs)
		}
		jwks := oidcJWKS(t, env)
		for _, alg := range doc.Algs {
			if !slices.ContainsFunc(jwks, func(k map[string]any) bool { return k["alg"] == alg }) {
				t.Fatalf("the JWKS has no %s key: %v", alg, jwks)
			}
		}

		first := true
		hints := map[string]string{}
		for _, id := range []string{webappID, esID, edID} {
			rp, alg := env.rp(id), idTokenAlgOf[id]
			var code string
			var req authRequest
			if first {
				code, req, _ = br.login(t, rp, u, d, webappName)
				first = false
			} else {
				code, req = br.silent(t, rp)
			}
			tok, idt := rp.mustExchange(t, code, req)
			if idt.Subject != u.ID || !slices.Equal(idt.Audience, []string{id}) {
				t.Fatalf("%s: ID token sub %q aud %v", id, idt.Subject, idt.Audience)
			}
			expectIDTokenAlg(t, env, id, tok, alg)
			hints[id] = tok.Extra("id_token").(string)

			refreshed, err := rp.refresh(t, tok.RefreshToken)
			if err != nil {
				t.Fatalf("%s: refresh: %v", id, err)
			}
			if rid := rp.verify(t, refreshed); rid.Subject != u.ID {
				t.Fatalf("%s: refreshed ID token sub %q", id, rid.Subject)
			}
			expectIDTokenAlg(t, env, id, refreshed, alg)

			// A relying party that takes only RS256 refuses the others.
			if alg != oidc.RS256 {
				rs := env.provider.Verifier(&oidc.Config{ClientID: id, SupportedSigningAlgs: []string{oidc.RS256}})
				if _, err := rs.Verify(t.Context(), hints[id]); err == nil {
					t.Fatalf("%s: an %s ID token verified as RS256", id, alg)
				}
			}
		}

		// An id_token_hint of each algorithm at the authorization
		// endpoint: op verifies it (an unverifiable one is login_required)
		// and the browser's sign-on, the hint's user, completes it.
		for _, hintOf := range []string{esID, edID} {
			app := env.rp(webappID)
			code, req := br.silent(t, app, promptNone, oauth2.SetAuthURLParam("id_token_hint", hints[hintOf]))
			if _, idt := app.mustExchange(t, code, req); idt.Subject != u.ID {
				t.Fatalf("with %s's hint: sub %q", hintOf, idt.Subject)
			}
		}

		// RP-initiated logout with an ES256 hint, then (after a new
		// login) with an EdDSA one: op verifies each hint, and a hint it
		// cannot verify is refused without a redirect.
		for _, c := range []struct{ id, back string }{{esID, esLoggedOut}, {edID, edLoggedOut}} {
			hint := hints[c.id]
			if c.id == edID {
				rp := env.rp(edID)
				code, req, _ := br.login(t, rp, u, d, edName)
				tok, _ := rp.mustExchange(t, code, req)
				hint = tok.Extra("id_token").(string)
			}
			to := br.get(t, "/oidc/end_session?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {c.back}, "state": {"bye"}}.Encode()).redirected(t)
			if base, _, _ := strings.Cut(to.String(), "?"); base != c.back || to.Query().Get("state") != "bye" {
				t.Fatalf("%s: logout redirects to %s; want %s?state=bye", c.id, to, c.back)
			}
			if br.ssoCookie() != "" {
				t.Fatalf("%s: logout with its hint did not end the single sign-on session", c.id)
			}
		}
		tampered := hints[esID][:len(hints[esID])-4] + "AAAA"
		expectNoRedirect(t, br.get(t, "/oidc/end_session?"+url.Values{"id_token_hint": {tampered}, "post_logout_redirect_uri": {esLoggedOut}}.Encode()), http.StatusBadRequest)
	})
}

// expectIDTokenAlg checks that tok's ID token is signed with alg by a key
// of the JWKS of the matching type.
func expectIDTokenAlg(t *testing.T, env *oidcEnv, client string, tok *oauth2.Token, alg string) {
	t.Helper()
	header, _ := jwtParts(t, tok.Extra("id_token").(string))
	if header["alg"] != alg {
		t.Fatalf("%s: ID token header alg %v, want %s", client, header["alg"], alg)
	}
	kty := map[string]string{oidc.RS256: "RSA", oidc.ES256: "EC", oidc.EdDSA: "OKP"}[alg]
	for _, k := range oidcJWKS(t, env) {
		if k["kid"] == header["kid"] {
			if k["alg"] != alg || k["kty"] != kty || k["use"] != "sig" {
				t.Fatalf("%s: the JWKS key %v of an %s token", client, k, alg)
			}
			return
		}
	}
	t.Fatalf("%s: the JWKS has no key %v", client, header["kid"])
}

// oidcJWKS is the provider's JWKS, its keys as JSON objects.
func oidcJWKS(t *testing.T, env *oidcEnv) []map[string]any {
	t.Helper()
	r := env.Get(t, "/oidc/keys")
	e2e.Expect(t, r, http.StatusOK)
	raw, _ := r.Body["keys"].([]any)
	var keys []map[string]any
	for _, k := range raw {
		m, _ := k.(map[string]any)
		keys = append(keys, m)
	}
	return keys
}
