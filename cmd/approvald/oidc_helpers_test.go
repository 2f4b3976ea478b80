package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/oidcclient"
	"github.com/approvald/approvald/internal/sso"
)

// The OpenID provider's end-to-end tests run approvald with three clients
// from CLIENTS_FILE and play both other parties: the relying party, with
// go-oidc and x/oauth2 as an application would, and the browser, an
// http.Client with a cookie jar that follows the server's redirects and
// stops at the first one that leaves it (the application's redirect_uri,
// never fetched).

const (
	webappID        = "webapp"
	webappName      = "Web App"
	webappRedirect  = "https://app.example/cb"
	webappLoggedOut = "https://app.example/logged-out"
	wikiID          = "wiki"
	wikiRedirect    = "https://wiki.example/cb"
	cliID           = "cli"
	cliRedirect     = "com.example.cli:/cb"
	// esID and edID ask for ES256 and EdDSA ID tokens.
	esID        = "es-app"
	esName      = "ES App"
	esRedirect  = "https://es.example/cb"
	esLoggedOut = "https://es.example/bye"
	edID        = "ed-cli"
	edName      = "Ed tool"
	edRedirect  = "com.example.ed:/cb"
	edLoggedOut = "com.example.ed:/bye"
)

// idTokenAlgOf is the ID-token algorithm each client of oidcClientsFile
// asked for.
var idTokenAlgOf = map[string]string{webappID: oidc.RS256, wikiID: oidc.RS256, cliID: oidc.RS256, esID: oidc.ES256, edID: oidc.EdDSA}

const oidcClientsFile = `clients:
  - client_id: webapp
    name: Web App
    redirect_uris: [https://app.example/cb]
    post_logout_redirect_uris: [https://app.example/logged-out]
    client_secret_env: WEBAPP_SECRET
  - client_id: wiki
    name: Wiki
    redirect_uris: [https://wiki.example/cb]
    client_secret_env: WIKI_SECRET
  - client_id: cli
    name: Command line
    public: true
    redirect_uris: ["com.example.cli:/cb"]
  - client_id: es-app
    name: ES App
    redirect_uris: [https://es.example/cb]
    post_logout_redirect_uris: [https://es.example/bye]
    client_secret_env: ES_SECRET
    id_token_signed_response_alg: ES256
  - client_id: ed-cli
    name: Ed tool
    public: true
    redirect_uris: ["com.example.ed:/cb"]
    post_logout_redirect_uris: ["com.example.ed:/bye"]
    id_token_signed_response_alg: EdDSA
`

// oidcEnv is a running provider with its clients' secrets.
type oidcEnv struct {
	*e2e.Server
	issuer   string
	provider *oidc.Provider
	secrets  map[string]string // client id → secret
}

// startOIDC starts approvald on b with the clients of oidcClientsFile and
// discovers it as an application would.
func startOIDC(t *testing.T, b e2e.Backend) *oidcEnv {
	t.Helper()
	file := filepath.Join(t.TempDir(), "clients.yaml")
	if err := os.WriteFile(file, []byte(oidcClientsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{webappID: oidcclient.NewSecret(), wikiID: oidcclient.NewSecret(), esID: oidcclient.NewSecret()}
	s := startServer(t, b, map[string]string{
		"CLIENTS_FILE": file, "WEBAPP_SECRET": secrets[webappID], "WIKI_SECRET": secrets[wikiID], "ES_SECRET": secrets[esID],
	})
	p, err := oidc.NewProvider(t.Context(), s.PublicURL)
	if err != nil {
		t.Fatalf("discovery of %s: %v", s.PublicURL, err)
	}
	return &oidcEnv{Server: s, issuer: s.PublicURL, provider: p, secrets: secrets}
}

// relyingParty is an application of the provider.
type relyingParty struct {
	env      *oidcEnv
	id       string
	secret   string // "" for the public client
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// rp is the application id, as x/oauth2 and go-oidc see it: a confidential
// client authenticates with HTTP Basic (never auto-detected: a refused code
// would be presented a second time), the public one sends its id alone.
func (e *oidcEnv) rp(id string) *relyingParty {
	redirect := map[string]string{webappID: webappRedirect, wikiID: wikiRedirect, cliID: cliRedirect, esID: esRedirect, edID: edRedirect}[id]
	if redirect == "" {
		redirect = webappRedirect // an unknown client asks as if it were webapp
	}
	ep := e.provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if id == cliID || id == edID {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	alg := idTokenAlgOf[id]
	if alg == "" {
		alg = oidc.RS256
	}
	return &relyingParty{
		env: e, id: id, secret: e.secrets[id],
		oauth: &oauth2.Config{
			ClientID: id, ClientSecret: e.secrets[id], Endpoint: ep, RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", "phone", oidc.ScopeOfflineAccess},
		},
		// Only the algorithm the client asked for: a token in another fails.
		verifier: e.provider.Verifier(&oidc.Config{ClientID: id, SupportedSigningAlgs: []string{alg}}),
	}
}

// authRequest is one authorization request of an application: what it
// keeps in its own session to check the answer.
type authRequest struct {
	URL, State, Nonce, Verifier string
}

// newRequest makes the application's authorization URL with PKCE S256, a
// state and a nonce; extra adds parameters (prompt, max_age…).
func (rp *relyingParty) newRequest(extra ...oauth2.AuthCodeOption) authRequest {
	r := authRequest{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(r.Verifier), oidc.Nonce(r.Nonce)}, extra...)
	r.URL = rp.oauth.AuthCodeURL(r.State, opts...)
	return r
}

// exchange trades a code for tokens with the request's verifier.
func (rp *relyingParty) exchange(t *testing.T, code, verifier string) (*oauth2.Token, error) {
	t.Helper()
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	return rp.oauth.Exchange(t.Context(), code, opts...)
}

// mustExchange is exchange that must succeed and give an ID token, which
// it verifies (signature by the JWKS, issuer, audience, expiry) with the
// request's nonce.
func (rp *relyingParty) mustExchange(t *testing.T, code string, r authRequest) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	tok, err := rp.exchange(t, code, r.Verifier)
	if err != nil {
		t.Fatalf("%s: code exchange: %v", rp.id, err)
	}
	id := rp.verify(t, tok)
	if id.Nonce != r.Nonce {
		t.Fatalf("ID token nonce %q, want %q", id.Nonce, r.Nonce)
	}
	return tok, id
}

// verify checks tok's ID token as the application does.
func (rp *relyingParty) verify(t *testing.T, tok *oauth2.Token) *oidc.IDToken {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatalf("%s: no id_token in the token response", rp.id)
	}
	id, err := rp.verifier.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("%s: ID token does not verify: %v", rp.id, err)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash of the access token: %v", err)
	}
	return id
}

// refresh spends a refresh token.
func (rp *relyingParty) refresh(t *testing.T, refreshToken string) (*oauth2.Token, error) {
	t.Helper()
	return rp.oauth.TokenSource(t.Context(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// userinfo asks the userinfo endpoint with an access token.
func (rp *relyingParty) userinfo(t *testing.T, accessToken string) (*oidc.UserInfo, error) {
	t.Helper()
	return rp.env.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}))
}

// form POSTs an endpoint of the provider as rp, with HTTP Basic when rp
// has a secret (secret overrides it when not empty), and decodes the JSON.
func (rp *relyingParty) form(t *testing.T, endpoint string, v url.Values, secret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rp.env.URL+endpoint, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret == "" {
		secret = rp.secret
	}
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(rp.id), url.QueryEscape(secret))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return res.StatusCode, body
}

// introspect is RFC 7662 by rp: whether the provider says token is active.
func (rp *relyingParty) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	status, body := rp.form(t, "/oidc/introspect", url.Values{"token": {token}}, "")
	if status != http.StatusOK {
		t.Fatalf("introspection: %d %v", status, body)
	}
	return body
}

func (rp *relyingParty) expectActive(t *testing.T, token string, active bool) {
	t.Helper()
	if got := rp.introspect(t, token)["active"] == true; got != active {
		t.Fatalf("introspection says active=%v, want %v", got, active)
	}
}

// expectOAuthError checks a refused token request: the error code of RFC
// 6749 §5.2 and the status.
func expectOAuthError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want the token endpoint's %s", err, code)
	}
	if re.ErrorCode != code || re.Response.StatusCode != status {
		t.Fatalf("token endpoint answered %d %q (%s), want %d %s", re.Response.StatusCode, re.ErrorCode, re.Body, status, code)
	}
}

// browser is a user agent: cookies, and redirects followed while they stay
// on the server (once: none followed).
type browser struct {
	env        *oidcEnv
	http, once *http.Client
	jar        *cookiejar.Jar
}

func (e *oidcEnv) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	server, _ := url.Parse(e.URL)
	return &browser{env: e, jar: jar, http: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != server.Host || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}, once: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is where the browser ended: the last answer and the address asked.
type page struct {
	Status   int
	URL      *url.URL // the address of the last request
	Location string   // of a redirect that left the server
	Header   http.Header
	Body     string
}

// redirected is the address a redirect that left the server sends to, parsed.
func (p page) redirected(t *testing.T) *url.URL {
	t.Helper()
	if p.Status != http.StatusFound || p.Location == "" {
		t.Fatalf("%s answered %d without leaving the server: %.300s", p.URL, p.Status, p.Body)
	}
	u, err := url.Parse(p.Location)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// do sends a request with the browser's cookies and follows the server's
// redirects.
func (b *browser) do(t *testing.T, method, target string, body any, headers ...string) page {
	t.Helper()
	return b.send(t, b.http, method, target, body, headers...)
}

func (b *browser) get(t *testing.T, target string, headers ...string) page {
	t.Helper()
	return b.do(t, http.MethodGet, target, nil, headers...)
}

// first GETs target with the browser's cookies and follows no redirect.
func (b *browser) first(t *testing.T, target string, headers ...string) page {
	t.Helper()
	return b.send(t, b.once, http.MethodGet, target, nil, headers...)
}

func (b *browser) send(t *testing.T, client *http.Client, method, target string, body any, headers ...string) page {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.env.URL + target
	}
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range e2e.Pairs(headers) {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	p := page{Status: res.StatusCode, URL: res.Request.URL, Header: res.Header, Body: string(raw)}
	if res.StatusCode >= 300 && res.StatusCode < 400 {
		p.Location = res.Header.Get("Location")
	}
	return p
}

// ssoCookie is the single sign-on cookie the browser holds ("" for none).
func (b *browser) ssoCookie() string {
	u, _ := url.Parse(b.env.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sso.CookieName {
			return c.Value
		}
	}
	return ""
}

// browserWithSSO is a new browser holding only the single sign-on cookie
// value (one kept from before a logout, say).
func (e *oidcEnv) browserWithSSO(t *testing.T, value string) *browser {
	t.Helper()
	b := e.browser(t)
	u, _ := url.Parse(e.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: sso.CookieName, Value: value, Path: "/"}})
	return b
}

// atLoginPage checks that p is approvald's login page for an authorization
// request and returns the request's id.
func atLoginPage(t *testing.T, p page) string {
	t.Helper()
	id := p.URL.Query().Get("oidc")
	if p.Status != http.StatusOK || p.URL.Path != "/" || id == "" {
		t.Fatalf("want the login page /?oidc=…, got %d at %s (redirect %q): %.300s", p.Status, p.URL, p.Location, p.Body)
	}
	return id
}

// codeOf checks that p is the redirect to rp's redirect_uri with a code for
// r and returns the code.
func codeOf(t *testing.T, rp *relyingParty, p page, r authRequest) string {
	t.Helper()
	u := p.redirected(t)
	q := u.Query()
	if base, _, _ := strings.Cut(p.Location, "?"); base != rp.oauth.RedirectURL || q.Get("state") != r.State || q.Get("code") == "" || q.Has("error") {
		t.Fatalf("redirect %s; want %s with a code and state %s", p.Location, rp.oauth.RedirectURL, r.State)
	}
	return q.Get("code")
}

// errorOf checks that p is the redirect to rp's redirect_uri with error
// code and r's state, and no code.
func errorOf(t *testing.T, rp *relyingParty, p page, r authRequest, code string) {
	t.Helper()
	u := p.redirected(t)
	q := u.Query()
	if base, _, _ := strings.Cut(p.Location, "?"); base != rp.oauth.RedirectURL || q.Get("error") != code || q.Get("state") != r.State || q.Has("code") {
		t.Fatalf("redirect %s; want %s with error=%s and state %s", p.Location, rp.oauth.RedirectURL, code, r.State)
	}
}

// expectNoRedirect checks a refusal that must not send the browser
// anywhere: 400 and no Location.
func expectNoRedirect(t *testing.T, p page, status int) {
	t.Helper()
	if p.Status != status || p.Header.Get("Location") != "" {
		t.Fatalf("%s answered %d (Location %q), want %d and no redirect: %.300s", p.URL, p.Status, p.Header.Get("Location"), status, p.Body)
	}
}

// webLogin logs u in on the login page, as its script does: the password
// (naming authorization request authReq, if any), the push, which d
// approves with the number the page shows, and the session, which sets the
// cookies. It returns when the session was set, and the time just before
// the device answered (auth_time is the decision's).
func (b *browser) webLogin(t *testing.T, u e2e.User, d *e2e.Device, authReq, app string) time.Time {
	t.Helper()
	web := []string{"X-Approvald-Web", "1"}
	body := map[string]any{"phone": u.Phone, "password": u.Password}
	if authReq != "" {
		body["auth_request"] = authReq
	}
	p := b.do(t, http.MethodPost, "/web/login", body, web...)
	if p.Status != http.StatusAccepted {
		t.Fatalf("web login: %d %s", p.Status, p.Body)
	}
	var l e2e.Login
	if err := json.Unmarshal([]byte(p.Body), &l); err != nil || l.Channel != "push" || l.Number == 0 {
		t.Fatalf("web login: %s", p.Body)
	}
	push := d.NextPush(t)
	if push.ApprovalID != l.ID || push.App != app {
		t.Fatalf("push for %s (app %q), want the login's %s (app %q)", push.ApprovalID, push.App, l.ID, app)
	}
	decided := time.Now()
	if status := d.MustDecide(t, l.ID, true, l.Number, false); status != "approved" {
		t.Fatalf("decision: %s", status)
	}
	p = b.do(t, http.MethodPost, "/web/session", map[string]any{"approval_id": l.ID, "ticket": l.Ticket}, web...)
	if p.Status != http.StatusOK || b.ssoCookie() == "" {
		t.Fatalf("web session: %d %s (single sign-on cookie %q)", p.Status, p.Body, b.ssoCookie())
	}
	return decided
}

// login is a whole interactive sign-in for rp: the authorization request
// lands on the login page, u logs in with d's approval, and the page hands
// back to /oidc/login, which ends at rp's redirect_uri with a code.
func (b *browser) login(t *testing.T, rp *relyingParty, u e2e.User, d *e2e.Device, app string, extra ...oauth2.AuthCodeOption) (string, authRequest, time.Time) {
	t.Helper()
	r := rp.newRequest(extra...)
	id := atLoginPage(t, b.get(t, r.URL))
	decided := b.webLogin(t, u, d, id, app)
	return codeOf(t, rp, b.get(t, "/oidc/login?id="+url.QueryEscape(id)), r), r, decided
}

// silent is an authorization request the single sign-on cookie completes:
// straight back to rp with a code, no login page.
func (b *browser) silent(t *testing.T, rp *relyingParty, extra ...oauth2.AuthCodeOption) (string, authRequest) {
	t.Helper()
	r := rp.newRequest(extra...)
	return codeOf(t, rp, b.get(t, r.URL), r), r
}

// idClaims are the claims of approvald's ID tokens beyond go-oidc's.
type idClaims struct {
	Subject             string   `json:"sub"`
	AuthTime            int64    `json:"auth_time"`
	AMR                 []string `json:"amr"`
	ACR                 string   `json:"acr"`
	AZP                 string   `json:"azp"`
	Name                string   `json:"name"`
	Email               string   `json:"email"`
	EmailVerified       *bool    `json:"email_verified"`
	PhoneNumber         string   `json:"phone_number"`
	PhoneNumberVerified *bool    `json:"phone_number_verified"`
}

func idClaimsOf(t *testing.T, id *oidc.IDToken) idClaims {
	t.Helper()
	var c idClaims
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}
