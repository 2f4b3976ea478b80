package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/approvald/approvald/internal/e2e"
)

// TestOIDCAnswersAsTheStandardsSay: where op's own answer strays from the
// specifications, the provider mends it: PKCE S256 only (RFC 7636's plain
// shows the verifier), response_mode query only (form_post's page would be
// blocked by the CSP), a token answer is never cached (RFC 6749 §5.1), a
// refused userinfo token is 401 with WWW-Authenticate (RFC 6750 §3.1), an
// unknown client refreshing is invalid_client, and an id_token_hint of
// another user does not end this browser's single sign-on.
func TestOIDCAnswersAsTheStandardsSay(t *testing.T) {
	env := startOIDC(t, e2e.SQLite)
	u, d := env.UserWithDevice(t, true)
	app := env.rp(webappID)
	br := env.browser(t)
	code, req, _ := br.login(t, app, u, d, webappName)

	t.Log("code_challenge_method plain, or none: invalid_request to the application")
	for _, method := range []string{"plain", ""} {
		r := app.newRequest(oauth2.SetAuthURLParam("code_challenge_method", method))
		errorOf(t, app, br.get(t, r.URL), r, "invalid_request")
	}

	t.Log("response_mode form_post: a 400 page, no redirect")
	r := app.newRequest(oauth2.SetAuthURLParam("response_mode", "form_post"))
	expectNoRedirect(t, br.get(t, r.URL), http.StatusBadRequest)

	t.Log("the token answer: no-store")
	req2, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.URL+"/oidc/token",
		strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.oauth.RedirectURL},
			"code_verifier": {req.Verifier}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req2.SetBasicAuth(webappID, app.secret)
	res, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Pragma") != "no-cache" {
		t.Errorf("token answer %d, Cache-Control %q, Pragma %q; want 200, no-store, no-cache",
			res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("Pragma"))
	}

	t.Log("userinfo with a token it does not know: 401 and WWW-Authenticate")
	ureq, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.URL+"/oidc/userinfo", nil)
	ureq.Header.Set("Authorization", "Bearer not-a-token")
	ures, err := http.DefaultClient.Do(ureq)
	if err != nil {
		t.Fatal(err)
	}
	ures.Body.Close()
	if ures.StatusCode != http.StatusUnauthorized || ures.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("userinfo with a bad token: %d, WWW-Authenticate %q; want 401 and the header",
			ures.StatusCode, ures.Header.Get("WWW-Authenticate"))
	}

	t.Log("an unknown client refreshing: 401 invalid_client")
	nobody := env.rp(webappID)
	nobody.oauth.ClientID = "nobody"
	_, err = nobody.refresh(t, "whatever")
	expectOAuthError(t, err, "invalid_client", http.StatusUnauthorized)
}

// TestOIDCLogoutWithAnotherUsersHint: the browser's sign-on is user B's by
// now; an end-session request with user A's old ID token ends A's sessions
// with the application, not B's sign-on.
func TestOIDCLogoutWithAnotherUsersHint(t *testing.T) {
	env := startOIDC(t, e2e.SQLite)
	a, da := env.UserWithDevice(t, true)
	b, db := env.UserWithDevice(t, true)
	app := env.rp(webappID)
	br := env.browser(t)

	code, req, _ := br.login(t, app, a, da, webappName)
	tokA, _ := app.mustExchange(t, code, req)
	hintA, _ := tokA.Extra("id_token").(string)

	code, req, _ = br.login(t, app, b, db, webappName, oauth2.SetAuthURLParam("prompt", "login"))
	if _, id := app.mustExchange(t, code, req); id.Subject != b.ID {
		t.Fatalf("the second login is %s's, want %s's", id.Subject, b.ID)
	}

	// Followed to the default logout page, approvald's own.
	p := br.get(t, env.URL+"/oidc/end_session?"+url.Values{"id_token_hint": {hintA}}.Encode())
	if p.Status != http.StatusOK {
		t.Fatalf("end_session (followed) answered %d", p.Status)
	}
	if _, err := app.userinfo(t, tokA.AccessToken); err == nil {
		t.Error("A's access token still reads userinfo after A's logout")
	}
	code, req = br.silent(t, app)
	if _, id := app.mustExchange(t, code, req); id.Subject != b.ID {
		t.Errorf("after A's logout the sign-on is %s's, want B's (%s)", id.Subject, b.ID)
	}
}
