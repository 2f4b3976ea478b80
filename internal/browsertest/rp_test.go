package browsertest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// relyingParty is an application that signs its users in through approvald
// the way Grafana or any OpenID Connect app does, on libraries nobody here
// wrote (coreos/go-oidc and x/oauth2): it knows approvald by its issuer URL
// alone, finds the rest in the discovery document, and verifies ID tokens
// against the JWKS.
type relyingParty struct {
	t      *testing.T
	srv    *httptest.Server
	id     string
	secret string

	provider *oidc.Provider
	conf     oauth2.Config

	mu      sync.Mutex
	pending map[string]rpAttempt // by state
	last    *rpLogin
}

type rpAttempt struct{ nonce, verifier string }

// rpLogin is what the relying party got from its last callback.
type rpLogin struct {
	token   *oauth2.Token
	rawID   string
	claims  map[string]any
	idToken *oidc.IDToken
}

// newRelyingParty starts the application's server; connect points it at
// approvald once approvald runs (approvald must know the application's
// redirect URI first).
func newRelyingParty(t *testing.T, id string) *relyingParty {
	t.Helper()
	rp := &relyingParty{t: t, id: id, secret: randomSecret(t), pending: map[string]rpAttempt{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", rp.login)
	mux.HandleFunc("/callback", rp.callback)
	mux.HandleFunc("/logout", rp.logout)
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/logged-out", func(w http.ResponseWriter, r *http.Request) {
		page(w, "bye", "logged out, state "+r.URL.Query().Get("state"))
	})
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientEntry is the application's entry of CLIENTS_FILE, its secret in
// the server's environment variable secretEnv.
func (rp *relyingParty) clientEntry(name, secretEnv string) map[string]any {
	return map[string]any{
		"client_id": rp.id, "name": name, "client_secret_env": secretEnv,
		"redirect_uris":             []string{rp.srv.URL + "/callback"},
		"post_logout_redirect_uris": []string{rp.srv.URL + "/logged-out"},
	}
}

// clientsFile writes CLIENTS_FILE (JSON, a subset of YAML) and returns its path.
func clientsFile(t *testing.T, entries ...map[string]any) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"clients": entries})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// connect reads approvald's discovery document.
func (rp *relyingParty) connect(issuer string) {
	rp.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		rp.t.Fatalf("relying party: discovery of %s: %v", issuer, err)
	}
	rp.provider = p
	rp.conf = oauth2.Config{
		ClientID: rp.id, ClientSecret: rp.secret, Endpoint: p.Endpoint(),
		RedirectURL: rp.srv.URL + "/callback",
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email", "phone", oidc.ScopeOfflineAccess},
	}
}

// login starts a sign-in: state, nonce and a PKCE verifier of its own,
// and prompt, max_age and login_hint when the test asks for them.
func (rp *relyingParty) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = rpAttempt{nonce: nonce, verifier: verifier}
	rp.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	for _, k := range []string{"prompt", "max_age", "login_hint"} {
		if v := r.URL.Query().Get(k); v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	http.Redirect(w, r, rp.conf.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback exchanges the code and verifies the ID token (signature against
// the JWKS, issuer, audience, expiry, nonce); an error from approvald is
// shown as it came.
func (rp *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		page(w, "error", e+" state "+q.Get("state"))
		return
	}
	rp.mu.Lock()
	at, ok := rp.pending[q.Get("state")]
	delete(rp.pending, q.Get("state"))
	rp.mu.Unlock()
	if !ok {
		page(w, "error", "unknown state")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	tok, err := rp.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(at.verifier))
	if err != nil {
		page(w, "error", "exchange: "+err.Error())
		return
	}
	login, err := rp.verify(ctx, tok)
	if err == nil && login.idToken.Nonce != at.nonce {
		err = fmt.Errorf("nonce %q, want %q", login.idToken.Nonce, at.nonce)
	}
	if err != nil {
		page(w, "error", err.Error())
		return
	}
	rp.mu.Lock()
	rp.last = login
	rp.mu.Unlock()
	page(w, "who", fmt.Sprintf("signed in as %v", login.claims["name"]))
}

func (rp *relyingParty) verify(ctx context.Context, tok *oauth2.Token) (*rpLogin, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("no id_token in the token response")
	}
	idt, err := rp.provider.Verifier(&oidc.Config{ClientID: rp.id}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("ID token: %w", err)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	return &rpLogin{token: tok, rawID: raw, claims: claims, idToken: idt}, nil
}

// logout is RP-initiated logout: to approvald's end_session_endpoint with
// the ID token as hint and the registered address to come back to.
func (rp *relyingParty) logout(w http.ResponseWriter, r *http.Request) {
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := rp.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		page(w, "error", "no end_session_endpoint")
		return
	}
	rp.mu.Lock()
	hint := ""
	if rp.last != nil {
		hint = rp.last.rawID
	}
	rp.mu.Unlock()
	q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rp.srv.URL + "/logged-out"}, "state": {"bye1"}}
	http.Redirect(w, r, meta.EndSession+"?"+q.Encode(), http.StatusFound)
}

// lastLogin is the last callback's result.
func (rp *relyingParty) lastLogin() *rpLogin {
	rp.t.Helper()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.last == nil {
		rp.t.Fatal("the relying party has no login")
	}
	return rp.last
}

func page(w http.ResponseWriter, id, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>app</title><p id=%q>%s</p>", id, html.EscapeString(text))
}

// visit navigates the browser to an address outside approvald.
func (b *browser) visit(u string) {
	b.t.Helper()
	b.do(chromedp.Navigate(u))
}

// waitApp waits for a page of the application (path), past every redirect
// on the way, and returns what it says. chromedp's WaitVisible follows
// the navigations; a polled script would die with each page it was on.
func (b *browser) waitApp(rp *relyingParty, path string) string {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS("body > p")))
	var href string
	b.eval(`location.href`, &href)
	if !strings.HasPrefix(href, rp.srv.URL+path) {
		b.t.Fatalf("the browser is at %s, want the application's %s\n%s", href, path, b.describe())
	}
	return b.text("body > p")
}

// countIn counts the lines of approvald's log that contain s.
func countIn(log, s string) int { return strings.Count(log, s) }

// waitLoginPage waits for approvald's login form after the redirects from an
// application (WaitVisible, unlike a polled script, outlives navigations).
func (b *browser) waitLoginPage() {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS("#view-login")))
	b.waitView("login")
}
