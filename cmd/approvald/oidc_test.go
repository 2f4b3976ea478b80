package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/httpapi"
	"github.com/approvald/approvald/internal/oidcclient"
	"github.com/approvald/approvald/internal/oidcprovider"
)

var (
	promptNone  = oauth2.SetAuthURLParam("prompt", "none")
	promptLogin = oauth2.SetAuthURLParam("prompt", "login")
)

func maxAge(seconds string) oauth2.AuthCodeOption {
	return oauth2.SetAuthURLParam("max_age", seconds)
}

// TestOIDCCodeFlow is a confidential application's whole life with the
// provider: discovery, the code flow with PKCE, state and nonce through
// the login page and a push, the ID token checked against the JWKS,
// userinfo, introspection, refresh rotation and its reuse detection,
// revocation, and RP-initiated logout.
func TestOIDCCodeFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		u, d := env.UserWithDevice(t, true)
		app, wiki := env.rp(webappID), env.rp(wikiID)
		br := env.browser(t)

		var doc struct {
			Issuer        string   `json:"issuer"`
			Authorization string   `json:"authorization_endpoint"`
			Token         string   `json:"token_endpoint"`
			Userinfo      string   `json:"userinfo_endpoint"`
			JWKS          string   `json:"jwks_uri"`
			Revocation    string   `json:"revocation_endpoint"`
			Introspection string   `json:"introspection_endpoint"`
			EndSession    string   `json:"end_session_endpoint"`
			Algs          []string `json:"id_token_signing_alg_values_supported"`
			PKCE          []string `json:"code_challenge_methods_supported"`
			ResponseTypes []string `json:"response_types_supported"`
		}
		if err := env.provider.Claims(&doc); err != nil {
			t.Fatal(err)
		}
		for got, path := range map[string]string{
			doc.Authorization: "/oidc/authorize", doc.Token: "/oidc/token", doc.Userinfo: "/oidc/userinfo",
			doc.JWKS: "/oidc/keys", doc.Revocation: "/oidc/revoke", doc.Introspection: "/oidc/introspect",
			doc.EndSession: "/oidc/end_session",
		} {
			if got != env.issuer+path {
				t.Errorf("discovery names %q where %s%s is", got, env.issuer, path)
			}
		}
		if doc.Issuer != env.issuer || !slices.Contains(doc.Algs, "RS256") || !slices.Contains(doc.PKCE, "S256") ||
			!slices.Equal(doc.ResponseTypes, []string{"code"}) {
			t.Fatalf("discovery: %+v", doc)
		}

		// The code flow, through the login page and a number-matched push.
		code, req, decided := br.login(t, app, u, d, webappName)
		tok, id := app.mustExchange(t, code, req)
		if tok.TokenType != "Bearer" || tok.AccessToken == "" || tok.RefreshToken == "" || !tok.Expiry.After(time.Now()) {
			t.Fatalf("token response %+v", tok)
		}
		if scope, _ := tok.Extra("scope").(string); !slices.Equal(strings.Fields(scope), app.oauth.Scopes) {
			t.Errorf("scope %q, want %q", scope, app.oauth.Scopes)
		}
		header, _ := jwtParts(t, tok.Extra("id_token").(string))
		if header["alg"] != "RS256" || !oidcJWKSHas(t, env, header["kid"]) {
			t.Fatalf("ID token header %v: want RS256 with a kid of the JWKS", header)
		}
		c := idClaimsOf(t, id)
		if id.Subject != u.ID || !slices.Equal(id.Audience, []string{webappID}) || c.AZP != webappID {
			t.Fatalf("ID token sub %q aud %v azp %q; want %s for %s", id.Subject, id.Audience, c.AZP, u.ID, webappID)
		}
		if c.AuthTime < decided.Unix() || c.AuthTime > time.Now().Unix() {
			t.Errorf("auth_time %d; the device decided at %d", c.AuthTime, decided.Unix())
		}
		if !slices.Equal(c.AMR, []string{"pwd", "swk", "mfa"}) || c.ACR != oidcprovider.ACRTwoFactor {
			t.Errorf("amr %v acr %q; want [pwd swk mfa] %s for a push", c.AMR, c.ACR, oidcprovider.ACRTwoFactor)
		}
		// Emails are never verified here: email_verified is false, which op
		// leaves out (omitempty), never true.
		if c.Name != "Ada" || c.PhoneNumber != u.Phone || c.PhoneNumberVerified == nil || !*c.PhoneNumberVerified ||
			c.Email != u.Email || (c.EmailVerified != nil && *c.EmailVerified) {
			t.Errorf("ID token profile claims %+v; want Ada, %s verified, %s not verified", c, u.Phone, u.Email)
		}

		info, err := app.userinfo(t, tok.AccessToken)
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var ic idClaims
		if err := info.Claims(&ic); err != nil {
			t.Fatal(err)
		}
		if info.Subject != u.ID || info.Email != u.Email || info.EmailVerified || ic.Name != "Ada" || ic.PhoneNumber != u.Phone ||
			ic.PhoneNumberVerified == nil || !*ic.PhoneNumberVerified {
			t.Fatalf("userinfo %+v %+v", info, ic)
		}

		t.Log("introspection: the client's own live token, by Basic auth")
		in := app.introspect(t, tok.AccessToken)
		if in["active"] != true || in["sub"] != u.ID || in["client_id"] != webappID {
			t.Fatalf("introspection %v", in)
		}
		wiki.expectActive(t, tok.AccessToken, false) // another client's token
		if status, _ := app.form(t, "/oidc/introspect", url.Values{"token": {tok.AccessToken}}, oidcclient.NewSecret()); status != http.StatusUnauthorized {
			t.Fatalf("introspection with a wrong secret: %d", status)
		}

		t.Log("refresh: a new refresh token and a new ID token for the same login")
		tok2, err := app.refresh(t, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
			t.Fatal("refresh did not rotate the tokens")
		}
		id2 := app.verify(t, tok2)
		if c2 := idClaimsOf(t, id2); id2.Subject != u.ID || c2.AuthTime != c.AuthTime || !slices.Equal(c2.AMR, c.AMR) {
			t.Fatalf("refreshed ID token %+v; want the login's sub, auth_time and amr %+v", c2, c)
		}
		app.expectActive(t, tok2.AccessToken, true)

		t.Log("the spent refresh token again: refused, and the session is revoked")
		_, err = app.refresh(t, tok.RefreshToken)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)
		_, err = app.refresh(t, tok2.RefreshToken)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)
		if _, err := app.userinfo(t, tok2.AccessToken); err == nil {
			t.Fatal("userinfo answered an access token of a revoked session")
		}
		app.expectActive(t, tok2.AccessToken, false)
		app.expectActive(t, tok.AccessToken, false)

		t.Log("revocation (RFC 7009) of the refresh token ends the access token too")
		code, req = br.silent(t, app)
		tok3, _ := app.mustExchange(t, code, req)
		app.expectActive(t, tok3.AccessToken, true)
		if status, body := app.form(t, "/oidc/revoke", url.Values{"token": {tok3.RefreshToken}, "token_type_hint": {"refresh_token"}}, oidcclient.NewSecret()); status != http.StatusUnauthorized {
			t.Fatalf("revocation with a wrong secret: %d %v", status, body)
		}
		app.expectActive(t, tok3.AccessToken, true)
		if status, body := app.form(t, "/oidc/revoke", url.Values{"token": {tok3.RefreshToken}, "token_type_hint": {"refresh_token"}}, ""); status != http.StatusOK {
			t.Fatalf("revocation: %d %v", status, body)
		}
		app.expectActive(t, tok3.AccessToken, false)
		if _, err := app.userinfo(t, tok3.AccessToken); err == nil {
			t.Fatal("userinfo answered the access token of a revoked refresh token")
		}
		_, err = app.refresh(t, tok3.RefreshToken)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)

		t.Log("revocation of the access token ends its refresh token")
		code, req = br.silent(t, app)
		tok4, _ := app.mustExchange(t, code, req)
		if status, body := app.form(t, "/oidc/revoke", url.Values{"token": {tok4.AccessToken}, "token_type_hint": {"access_token"}}, ""); status != http.StatusOK {
			t.Fatalf("revocation: %d %v", status, body)
		}
		app.expectActive(t, tok4.AccessToken, false)
		_, err = app.refresh(t, tok4.RefreshToken)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)

		t.Log("RP-initiated logout")
		code, req = br.silent(t, app)
		tok5, _ := app.mustExchange(t, code, req)
		hint := tok5.Extra("id_token").(string)
		endSession := func(redirect, state string) string {
			return "/oidc/end_session?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {redirect}, "state": {state}}.Encode()
		}
		// An unregistered post_logout_redirect_uri: refused, not followed,
		// and nothing is ended.
		for _, bad := range []string{"https://evil.example/", webappLoggedOut + "/x", wikiRedirect} {
			expectNoRedirect(t, br.get(t, endSession(bad, "bye")), http.StatusBadRequest)
		}
		app.expectActive(t, tok5.AccessToken, true)
		br.silent(t, app, promptNone)

		ssoValue := br.ssoCookie()
		to := br.get(t, endSession(webappLoggedOut, "bye")).redirected(t)
		if base, _, _ := strings.Cut(to.String(), "?"); base != webappLoggedOut || to.Query().Get("state") != "bye" {
			t.Fatalf("logout redirects to %s; want %s?state=bye", to, webappLoggedOut)
		}
		if br.ssoCookie() != "" {
			t.Error("logout did not clear the single sign-on cookie")
		}
		app.expectActive(t, tok5.AccessToken, false)
		_, err = app.refresh(t, tok5.RefreshToken)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)
		// The single sign-on session itself is over: neither this browser
		// nor one replaying the old cookie gets in without a login.
		for _, who := range []*browser{br, env.browserWithSSO(t, ssoValue)} {
			r := app.newRequest(promptNone)
			errorOf(t, app, who.get(t, r.URL), r, "login_required")
			r = app.newRequest()
			atLoginPage(t, who.get(t, r.URL))
		}
		if p := br.do(t, http.MethodPost, "/web/refresh", nil, "X-Approvald-Web", "1"); p.Status != http.StatusUnauthorized {
			t.Errorf("the page's own session outlived the logout: /web/refresh %d", p.Status)
		}
	})
}

// oidcJWKSHas says whether the provider's JWKS has an RSA signing key kid.
func oidcJWKSHas(t *testing.T, env *oidcEnv, kid any) bool {
	t.Helper()
	r := env.Get(t, "/oidc/keys")
	e2e.Expect(t, r, http.StatusOK)
	keys, _ := r.Body["keys"].([]any)
	for _, k := range keys {
		k, _ := k.(map[string]any)
		if k["kid"] == kid && k["kty"] == "RSA" && k["alg"] == "RS256" && k["use"] == "sig" {
			return true
		}
	}
	return false
}

// TestOIDCSingleSignOn: one approval lets the browser into a second
// application without a login page or a push; prompt=login and max_age=0
// ask for a login again, a recent enough one does for max_age; prompt=none
// without a login is login_required at the application.
func TestOIDCSingleSignOn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		u, d := env.UserWithDevice(t, true)
		app, wiki := env.rp(webappID), env.rp(wikiID)
		br := env.browser(t)

		code, req, _ := br.login(t, app, u, d, webappName)
		_, id := app.mustExchange(t, code, req)
		first := idClaimsOf(t, id)

		// Straight back to the second application: its ID token is of the
		// same login.
		for _, extra := range [][]oauth2.AuthCodeOption{nil, {promptNone}, {maxAge("3600")}} {
			code, req = br.silent(t, wiki, extra...)
			_, wid := wiki.mustExchange(t, code, req)
			if c := idClaimsOf(t, wid); wid.Subject != u.ID || c.AuthTime != first.AuthTime || !slices.Equal(c.AMR, first.AMR) ||
				!slices.Equal(wid.Audience, []string{wikiID}) {
				t.Fatalf("single sign-on ID token %+v aud %v; want the first login's %+v for wiki", c, wid.Audience, first)
			}
		}

		// prompt=login and max_age=0 want a login made after they were
		// asked, however recent the last one.
		forced := []oauth2.AuthCodeOption{promptLogin, maxAge("0")}
		var pending []string
		var requests []authRequest
		for _, extra := range forced {
			r := wiki.newRequest(extra)
			pending = append(pending, atLoginPage(t, br.get(t, r.URL)))
			requests = append(requests, r)
			// The page's script would log in; the request alone does not
			// complete from the cookie either.
			atLoginPage(t, br.get(t, "/oidc/login?id="+url.QueryEscape(pending[len(pending)-1])))
		}
		// The next push is this login's (webLogin checks its approval id):
		// nothing was pushed for the single sign-ons.
		decided := br.webLogin(t, u, d, pending[1], "Wiki")
		code = codeOf(t, wiki, br.get(t, "/oidc/login?id="+url.QueryEscape(pending[1])), requests[1])
		_, nid := wiki.mustExchange(t, code, requests[1])
		if c := idClaimsOf(t, nid); c.AuthTime < decided.Unix() || c.AuthTime < first.AuthTime {
			t.Fatalf("auth_time %d after a new login decided at %d", c.AuthTime, decided.Unix())
		}
		// That login came after the prompt=login request too.
		codeOf(t, wiki, br.get(t, "/oidc/login?id="+url.QueryEscape(pending[0])), requests[0])
		select {
		case p := <-d.Pushes:
			t.Fatalf("an unexpected push: %+v", p)
		default:
		}

		// No single sign-on: prompt=none goes back with login_required and
		// the state, without a code.
		fresh := env.browser(t)
		r := app.newRequest(promptNone)
		errorOf(t, app, fresh.get(t, r.URL), r, "login_required")
		// A made-up cookie is none.
		r = app.newRequest(promptNone)
		errorOf(t, app, env.browserWithSSO(t, br.ssoCookie()+"x").get(t, r.URL), r, "login_required")
	})
}

// TestOIDCPublicClient: a public client (no secret) must use PKCE, and a
// wrong verifier buys nothing.
func TestOIDCPublicClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		u, d := env.UserWithDevice(t, true)
		cli := env.rp(cliID)
		br := env.browser(t)

		code, req, _ := br.login(t, cli, u, d, "Command line")
		tok, id := cli.mustExchange(t, code, req)
		if id.Subject != u.ID || !slices.Equal(id.Audience, []string{cliID}) {
			t.Fatalf("ID token sub %q aud %v", id.Subject, id.Audience)
		}
		tok2, err := cli.refresh(t, tok.RefreshToken)
		if err != nil || tok2.RefreshToken == tok.RefreshToken {
			t.Fatalf("a public client's refresh: %v", err)
		}
		// A public client has no secret to introspect with.
		if status, _ := cli.form(t, "/oidc/introspect", url.Values{"token": {tok2.AccessToken}}, ""); status != http.StatusUnauthorized {
			t.Fatalf("introspection by a public client: %d", status)
		}

		// Without PKCE op lets the authorization through, and the code
		// exchange refuses it: invalid_request, PKCE required.
		r := authRequest{State: "s-" + req.State, Nonce: req.Nonce}
		r.URL = cli.oauth.AuthCodeURL(r.State, oidc.Nonce(r.Nonce))
		code = codeOf(t, cli, br.get(t, r.URL), r)
		_, err = cli.exchange(t, code, "")
		expectOAuthError(t, err, "invalid_request", http.StatusBadRequest)

		// A wrong verifier: invalid_grant; the code is spent by it, so the
		// right one is refused after.
		code, req = br.silent(t, cli)
		_, err = cli.exchange(t, code, oauth2.GenerateVerifier())
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)
		_, err = cli.exchange(t, code, req.Verifier)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)
		// No verifier for a code that has a challenge.
		code, _ = br.silent(t, cli)
		_, err = cli.exchange(t, code, "")
		expectOAuthError(t, err, "invalid_request", http.StatusBadRequest)
	})
}

// TestOIDCRefusals: what the provider must refuse, and how.
func TestOIDCRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		u, d := env.UserWithDevice(t, true)
		app, wiki := env.rp(webappID), env.rp(wikiID)
		br := env.browser(t)

		t.Log("a redirect_uri the client did not register: a 400 page, never a redirect to it")
		for _, bad := range []string{"https://app.example/other", "https://app.example/cb/", "https://evil.example/cb", wikiRedirect} {
			rp := *app.oauth
			rp.RedirectURL = bad
			expectNoRedirect(t, br.get(t, rp.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), http.StatusBadRequest)
		}
		t.Log("an unknown client: the same")
		expectNoRedirect(t, br.get(t, env.rp("nobody").newRequest().URL), http.StatusBadRequest)

		code, req, _ := br.login(t, app, u, d, webappName)
		tok, _ := app.mustExchange(t, code, req)

		t.Log("a code used twice: refused, and the tokens of its first use are revoked")
		_, err := app.exchange(t, code, req.Verifier)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)
		if _, err := app.userinfo(t, tok.AccessToken); err == nil {
			t.Fatal("userinfo answered the access token of a reused code")
		}
		app.expectActive(t, tok.AccessToken, false)
		_, err = app.refresh(t, tok.RefreshToken)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)

		t.Log("a wrong client secret: 401 invalid_client")
		code, req = br.silent(t, app)
		wrong := env.rp(webappID)
		wrong.oauth.ClientSecret = oidcclient.NewSecret()
		_, err = wrong.exchange(t, code, req.Verifier)
		expectOAuthError(t, err, "invalid_client", http.StatusUnauthorized)

		t.Log("an unknown client at the token endpoint: 401 invalid_client")
		code, req = br.silent(t, app)
		nobody := env.rp(webappID)
		nobody.oauth.ClientID = "nobody"
		_, err = nobody.exchange(t, code, req.Verifier)
		expectOAuthError(t, err, "invalid_client", http.StatusUnauthorized)

		t.Log("another client's code, with that client's redirect_uri: invalid_grant")
		code, req = br.silent(t, app)
		thief := env.rp(wikiID)
		thief.oauth.RedirectURL = webappRedirect
		_, err = thief.exchange(t, code, req.Verifier)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)

		t.Log("another client's refresh token: invalid_grant, and the owner's goes on")
		code, req = br.silent(t, app)
		tok, _ = app.mustExchange(t, code, req)
		_, err = wiki.refresh(t, tok.RefreshToken)
		expectOAuthError(t, err, "invalid_grant", http.StatusBadRequest)
		if _, err := app.refresh(t, tok.RefreshToken); err != nil {
			t.Fatalf("the owner's refresh after another client presented it: %v", err)
		}
	})
}

// TestForwardAuth: a reverse proxy's sub-request is 401 (naming the login
// page) or a redirect to it without a login, 200 with the user's headers
// with one, and never an open redirect: an address off the server's host
// (COOKIE_DOMAIN unset) is refused, by forward auth and /sso/continue.
func TestForwardAuth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		u, d := env.UserWithDevice(t, true)
		br := env.browser(t)
		pub, _ := url.Parse(env.PublicURL)
		host := pub.Host
		login := env.PublicURL + "/"
		wanted := env.PublicURL + "/wiki/page?x=1&y=%2F"
		loginFor := func(rd string) string { return login + "?" + url.Values{"rd": {rd}}.Encode() }
		const fa = "/api/v1/forward-auth"
		traefik := func(proto, host, uri string) []string {
			return []string{"X-Forwarded-Method", "GET", "X-Forwarded-Proto", proto, "X-Forwarded-Host", host, "X-Forwarded-Uri", uri}
		}
		continueTo := func(rd string) string { return "/sso/continue?" + url.Values{"rd": {rd}}.Encode() }
		refused := []string{
			"https://evil.example/",
			"http://evil.example" + "/wiki",
			"http://" + host + `\@evil.example/`,
			"http://" + host + `\evil.example/`,
			"http://user@" + host + "/",
			"http://" + host + "@evil.example/",
			"//evil.example/",
			"/relative",
			"javascript:alert(1)",
			"http://" + pub.Hostname() + ".evil.example/",
			"ftp://" + host + "/",
		}

		t.Log("without a login")
		p := br.first(t, fa)
		if p.Status != http.StatusUnauthorized || p.Header.Get(httpapi.LoginURLHeader) != login {
			t.Fatalf("forward auth without a cookie: %d, %s %q", p.Status, httpapi.LoginURLHeader, p.Header.Get(httpapi.LoginURLHeader))
		}
		p = br.first(t, fa, "X-Original-URL", wanted)
		if p.Status != http.StatusUnauthorized || p.Header.Get(httpapi.LoginURLHeader) != loginFor(wanted) {
			t.Fatalf("nginx without a cookie: %d, %s %q; want %q", p.Status, httpapi.LoginURLHeader, p.Header.Get(httpapi.LoginURLHeader), loginFor(wanted))
		}
		for _, bad := range refused {
			p = br.first(t, fa, "X-Original-URL", bad)
			if p.Status != http.StatusUnauthorized || p.Header.Get(httpapi.LoginURLHeader) != login {
				t.Fatalf("nginx for %q: %d, %s %q; want the login page without rd", bad, p.Status, httpapi.LoginURLHeader, p.Header.Get(httpapi.LoginURLHeader))
			}
		}
		p = br.first(t, fa, traefik("http", host, "/wiki/page?x=1")...)
		if p.Status != http.StatusFound || p.Location != loginFor("http://"+host+"/wiki/page?x=1") {
			t.Fatalf("traefik without a cookie: %d to %q", p.Status, p.Location)
		}
		for _, h := range []string{"evil.example", pub.Hostname() + ".evil.example", "evil.example:" + pub.Port()} {
			expectNoRedirect(t, br.first(t, fa, traefik("http", h, "/")...), http.StatusForbidden)
		}

		for _, bad := range refused {
			expectNoRedirect(t, br.first(t, continueTo(bad)), http.StatusBadRequest)
		}
		expectNoRedirect(t, br.first(t, "/sso/continue"), http.StatusBadRequest)
		if p = br.first(t, continueTo(wanted)); p.Status != http.StatusFound || p.Location != loginFor(wanted) {
			t.Fatalf("/sso/continue without a login: %d to %q; want %q", p.Status, p.Location, loginFor(wanted))
		}

		t.Log("with a login on the page")
		br.webLogin(t, u, d, "", "")
		ssoValue := br.ssoCookie()
		for _, h := range [][]string{nil, {"X-Original-URL", wanted}, traefik("http", host, "/wiki")} {
			p = br.first(t, fa, h...)
			if p.Status != http.StatusOK || p.Header.Get("Remote-User") != u.ID || p.Header.Get("Remote-Name") != "Ada" ||
				p.Header.Get("Remote-Email") != u.Email || p.Header.Get("Remote-Phone") != u.Phone || p.Header.Get(httpapi.LoginURLHeader) != "" {
				t.Fatalf("forward auth with the cookie (%v): %d %v", h, p.Status, p.Header)
			}
		}
		if p = br.first(t, continueTo(wanted)); p.Status != http.StatusFound || p.Location != wanted {
			t.Fatalf("/sso/continue with a login: %d to %q; want %q", p.Status, p.Location, wanted)
		}
		for _, bad := range refused {
			expectNoRedirect(t, br.first(t, continueTo(bad)), http.StatusBadRequest)
		}

		t.Log("after the page's logout")
		if p = br.do(t, http.MethodPost, "/web/logout", nil, "X-Approvald-Web", "1"); p.Status != http.StatusNoContent || br.ssoCookie() != "" {
			t.Fatalf("web logout: %d, single sign-on cookie %q", p.Status, br.ssoCookie())
		}
		// The cookie is gone, and the session it named is over.
		for _, who := range []*browser{br, env.browserWithSSO(t, ssoValue)} {
			p = who.first(t, fa, "X-Original-URL", wanted)
			if p.Status != http.StatusUnauthorized || p.Header.Get(httpapi.LoginURLHeader) != loginFor(wanted) || p.Header.Get("Remote-User") != "" {
				t.Fatalf("forward auth after logout: %d %v", p.Status, p.Header)
			}
			if p = who.first(t, continueTo(wanted)); p.Status != http.StatusFound || p.Location != loginFor(wanted) {
				t.Fatalf("/sso/continue after logout: %d to %q", p.Status, p.Location)
			}
		}
	})
}

// TestOIDCRequestStaysInItsBrowser: an authorization request is completed
// only in the browser that made it. Otherwise whoever starts a request at
// an application (and so knows its id) could send a signed-in victim's
// browser to /oidc/login?id=…, stop it there, then take the code with
// their own browser and be the victim at the application.
func TestOIDCRequestStaysInItsBrowser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		env := startOIDC(t, b)
		victim, d := env.UserWithDevice(t, true)
		app := env.rp(webappID)
		vb := env.browser(t)
		vb.webLogin(t, victim, d, "", "")

		attacker := env.browser(t)
		r := app.newRequest()
		id := atLoginPage(t, attacker.get(t, r.URL))
		handBack := "/oidc/login?id=" + url.QueryEscape(id)

		// The victim's single sign-on does not complete it: a page, no
		// redirect, and the attacker's browser is still asked to log in.
		expectNoRedirect(t, vb.first(t, handBack), http.StatusBadRequest)
		atLoginPage(t, attacker.get(t, handBack))

		// Nor does the victim logging in on the attacker's login page.
		vb.webLogin(t, victim, d, id, webappName)
		expectNoRedirect(t, vb.get(t, handBack), http.StatusBadRequest)
		atLoginPage(t, attacker.get(t, handBack))

		// The victim's own requests go on as ever.
		code, req := vb.silent(t, app)
		if _, tok := app.mustExchange(t, code, req); tok.Subject != victim.ID {
			t.Fatalf("sub %q", tok.Subject)
		}
	})
}
