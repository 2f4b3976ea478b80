package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/password"
	"github.com/approvald/approvald/internal/sso"
	"github.com/approvald/approvald/internal/store"
)

// OIDCResult compares complete OpenID Connect authorization code flows
// with the machine's raw RS256 signing rate (each flow's token answer
// signs one ID token).
type OIDCResult struct {
	Workers    int     `json:"workers"`
	Scope      string  `json:"scope"`
	Seconds    float64 `json:"seconds"`
	Flows      int     `json:"flows"` // complete: authorize → login → callback → token, the tokens read
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	PerSecond  float64 `json:"per_second"`
	Flow       Latency `json:"flow"`  // the whole flow, four requests
	Token      Latency `json:"token"` // POST /oidc/token alone
	// The raw rate: rsa.SignPKCS1v15 with a 2048-bit key over a SHA-256
	// digest on GOMAXPROCS goroutines, half the phase's time before the
	// flows and half after; Ratio is PerSecond / the mean.
	SignBefore    float64 `json:"rs256_before"`
	SignAfter     float64 `json:"rs256_after"`
	SignPerSecond float64 `json:"rs256_per_second"`
	Ratio         float64 `json:"ratio"`
	// What the raw signatures cost in CPU (the harness's, over both
	// samples), and the cores other processes used meanwhile. Unlike the
	// rates, the CPU figures hold when other work shares the machine:
	// CPURatio is a signature's CPU over a flow's CPU in approvald alone,
	// CPURatioAll over a flow's CPU in approvald, PostgreSQL, Redis and the
	// harness (what bounds Ratio on a machine that runs nothing else).
	SignCPUMs      float64 `json:"rs256_cpu_ms_per_sign"`
	SignOtherCores float64 `json:"rs256_other_cores"`
	CPURatio       float64 `json:"cpu_ratio"`
	CPURatioAll    float64 `json:"cpu_ratio_all"`
	// Cores during the flows, and CPU milliseconds per complete flow.
	ServerCores      float64 `json:"server_cores"`
	DepsCores        float64 `json:"deps_cores"`
	HarnessCores     float64 `json:"harness_cores"`
	OtherCores       float64 `json:"other_cores"`
	ServerMsPerFlow  float64 `json:"server_cpu_ms_per_flow"`
	DepsMsPerFlow    float64 `json:"deps_cpu_ms_per_flow"`
	HarnessMsPerFlow float64 `json:"harness_cpu_ms_per_flow"`
	// Exchange is the code exchanges alone (the goal's figure).
	Exchange *OIDCExchange `json:"exchange,omitempty"`
}

// The client the oidc phase registers through CLIENTS_FILE. Its redirect
// URI is never fetched: the harness reads the code from the redirect.
const (
	oidcClientID    = "approvalbench"
	oidcSecretEnv   = "APPROVALBENCH_OIDC_SECRET"
	oidcRedirectURI = "http://127.0.0.1/approvalbench/callback"
)

// oidcClientEnv writes a CLIENTS_FILE with the bench's confidential client
// into dir and returns the environment that declares it, and its secret.
func oidcClientEnv(dir string) (map[string]string, string, error) {
	secret := core.NewSecret(32)
	file := filepath.Join(dir, "clients.yaml")
	body := fmt.Sprintf("clients:\n  - client_id: %s\n    name: approvalbench\n    redirect_uris: [%q]\n    client_secret_env: %s\n",
		oidcClientID, oidcRedirectURI, oidcSecretEnv)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		return nil, "", err
	}
	return map[string]string{"CLIENTS_FILE": file, oidcSecretEnv: secret}, secret, nil
}

// ssoUser is the one user whose single sign-on cookie every flow carries.
type ssoUser struct {
	ID     string
	Cookie *http.Cookie
}

// seedSSOUser writes a verified user with two-factor off straight into the
// database (the bench-only shortcut seedDB takes too), then logs it in
// through POST /web/login, the pages' login, which answers such a user
// with a session and the single sign-on cookie.
func seedSSOUser(ctx context.Context, databaseURL string, a *api) (*ssoUser, error) {
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	hash, err := password.New(password.Params{}, 1).Hash(ctx, benchPassword)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	u, err := writeVerifiedUser(ctx, db, "Bench SSO", phones(1)[0], hash, false, now)
	if err != nil {
		return nil, err
	}

	body, _ := json.Marshal(map[string]string{"phone": u.Phone, "password": benchPassword})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/web/login", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Approvald-Web", "1")
	res, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return nil, &statusError{"POST", "/web/login", res.StatusCode, string(raw)}
	}
	for _, c := range res.Cookies() {
		if c.Name == sso.CookieName && c.Value != "" {
			return &ssoUser{ID: u.ID, Cookie: c}, nil
		}
	}
	return nil, fmt.Errorf("POST /web/login set no %s cookie", sso.CookieName)
}

// oidcPhase logs one user in, then runs -oidc-workers complete code flows
// at a time for -oidc, then times code exchanges alone (codes minted for
// half of -oidc first), all between two samples of the raw RS256 rate.
func (b *bench) oidcPhase(ctx context.Context) (*OIDCResult, error) {
	cfg := b.cfg
	b.say("oidc: logging the single sign-on user in (two-factor off, POST /web/login)")
	u, err := seedSSOUser(ctx, b.databaseURL, b.api)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	tr := newHTTPClient(b.src, cfg.OIDCWorkers).Transport
	defer tr.(*http.Transport).CloseIdleConnections()
	flows := make([]*codeFlow, cfg.OIDCWorkers)
	for i := range flows {
		if flows[i], err = newCodeFlow(b.srv.URL, b.oidcSecret, cfg.OIDCScope, u.Cookie, tr); err != nil {
			return nil, err
		}
	}
	// One flow first, its ID token checked against the provider's keys:
	// the timed flows then only read that an ID token came back.
	idToken, _, _, err := flows[0].run(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc: the first flow: %w", err)
	}
	if err := checkIDToken(ctx, flows[0].token, b.srv.URL, idToken, u.ID, flows[0].nonce); err != nil {
		return nil, fmt.Errorf("oidc: the first flow's ID token: %w", err)
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	half := cfg.OIDC / 2
	b.say("oidc: raw RS256 signing rate, %s on every core", half)
	r := &OIDCResult{Workers: cfg.OIDCWorkers, Scope: cfg.OIDCScope}
	before, err := b.signSample(ctx, key, half)
	if err != nil {
		return nil, err
	}

	b.say("oidc: %d code flows at a time for %s", cfg.OIDCWorkers, cfg.OIDC)
	stopProfile := b.profile(ctx, "oidc-cpu", int(cfg.OIDC.Seconds()))
	var run *workerRun
	harness0, _ := cpuTime(os.Getpid())
	cpu := b.measureCPU(func() { run = runFlows(ctx, flows, cfg.OIDC) })
	harness1, _ := cpuTime(os.Getpid())
	stopProfile()
	exchange, err := b.oidcExchanges(ctx, flows, half)
	if err != nil {
		return nil, err
	}

	b.say("oidc: raw RS256 signing rate again, %s on every core", half)
	after, err := b.signSample(ctx, key, half)
	if err != nil {
		return nil, err
	}
	r.fill(run, cpu, harness1-harness0, before, after)
	exchange.rate(r.SignPerSecond, r.SignCPUMs)
	r.Exchange = exchange
	b.say("oidc: %.0f code exchanges/s alone (%d, %d errors), p50 %.2f ms; ratio %.0f %%",
		exchange.PerSecond, exchange.Exchanges, exchange.Errors, exchange.Token.P50, exchange.Ratio*100)
	b.say("oidc: %.0f flows/s (%d, %d errors), flow p50 %.2f ms, token p50 %.2f ms; raw RS256 %.0f/s; ratio %.0f %%",
		r.PerSecond, r.Flows, r.Errors, r.Flow.P50, r.Token.P50, r.SignPerSecond, r.Ratio*100)
	if r.Flows == 0 {
		return r, fmt.Errorf("oidc: no flow completed (%d errors; first: %s)", r.Errors, r.FirstError)
	}
	return r, b.alive()
}

// signs is one sample of the raw RS256 rate.
type signs struct {
	n          int64
	wall, cpu  time.Duration // the harness's CPU meanwhile
	otherCores float64
}

func (s signs) rate() float64 { return float64(s.n) / s.wall.Seconds() }

// signSample measures the raw RS256 rate for d, with the CPU it took and
// what other processes used meanwhile.
func (b *bench) signSample(ctx context.Context, key *rsa.PrivateKey, d time.Duration) (signs, error) {
	o := watchOthers(b.srv.PID())
	c0, _ := cpuTime(os.Getpid())
	n, wall, err := rs256Signs(ctx, key, d)
	c1, _ := cpuTime(os.Getpid())
	return signs{n: n, wall: wall, cpu: c1 - c0, otherCores: o.Cores()}, err
}

// fill derives the figures of run, of the CPU used meanwhile and of the
// raw samples before and after.
func (r *OIDCResult) fill(run *workerRun, cpu cpuUse, harness time.Duration, before, after signs) {
	r.Seconds = run.took.Seconds()
	r.Flows, r.Errors = len(run.whole), run.errors
	if run.first != nil {
		r.FirstError = run.first.Error()
	}
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Flows) / r.Seconds
	}
	r.Flow, r.Token = summarize(run.whole), summarize(run.last)
	r.SignBefore, r.SignAfter, r.SignPerSecond, r.SignCPUMs = rawPair(before, after)
	if r.SignPerSecond > 0 {
		r.Ratio = r.PerSecond / r.SignPerSecond
	}
	r.SignOtherCores = (before.otherCores + after.otherCores) / 2
	s := splitCPU(cpu, harness, r.Flows)
	r.ServerCores, r.DepsCores, r.HarnessCores, r.OtherCores = s.serverCores, s.depsCores, s.harnessCores, cpu.otherCores
	r.ServerMsPerFlow, r.DepsMsPerFlow, r.HarnessMsPerFlow = s.serverMs, s.depsMs, s.harnessMs
	if r.ServerMsPerFlow > 0 {
		r.CPURatio = r.SignCPUMs / r.ServerMsPerFlow
		r.CPURatioAll = r.SignCPUMs / (r.ServerMsPerFlow + r.DepsMsPerFlow + r.HarnessMsPerFlow)
	}
}

// rs256Signs signs on every core (GOMAXPROCS goroutines) for d with key,
// as an ID token is signed (RS256: PKCS #1 v1.5 over a SHA-256 digest),
// and returns how many signatures were made and in how long: what the
// machine can do at best.
func rs256Signs(ctx context.Context, key *rsa.PrivateKey, d time.Duration) (int64, time.Duration, error) {
	// About the size of an ID token's signing input.
	msg := bytes.Repeat([]byte("eyJhbGciOiJSUzI1NiJ9."), 24)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done atomic.Int64
	var failed atomic.Pointer[error]
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				digest := sha256.Sum256(msg)
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
					failed.Store(&err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := failed.Load(); err != nil {
		return 0, took, *err
	}
	if done.Load() == 0 {
		return 0, took, errors.New("no RS256 signature completed")
	}
	return done.Load(), took, nil
}

// runFlows runs one flow after another on each of flows (a worker each)
// until d has passed (runWorkers): whole is a flow, last its token request.
func runFlows(ctx context.Context, flows []*codeFlow, d time.Duration) *workerRun {
	return runWorkers(ctx, len(flows), d, func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		_, took, tokenTook, err := flows[i].run(ctx)
		return took, tokenTook, err
	})
}

// codeFlow is one worker: a browser with the single sign-on cookie in its
// jar that follows the redirects itself, and the application's back end,
// which exchanges the code with its secret.
type codeFlow struct {
	base          *url.URL
	secret, scope string
	browser       *http.Client // cookie jar; redirects are not followed
	token         *http.Client // no jar
	nonce         string       // of the last flow
}

func newCodeFlow(serverURL, secret, scope string, cookie *http.Cookie, tr http.RoundTripper) (*codeFlow, error) {
	base, err := url.Parse(serverURL)
	if err != nil {
		return nil, err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := *cookie
	c.Domain = "" // host-only, as the server set it
	jar.SetCookies(base, []*http.Cookie{&c})
	return &codeFlow{
		base: base, secret: secret, scope: scope,
		browser: &http.Client{Timeout: 30 * time.Second, Transport: tr, Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		token: &http.Client{Timeout: 30 * time.Second, Transport: tr},
	}, nil
}

// run is one complete flow (authorize, then exchange) and returns the ID
// token, the flow's time and the token request's.
func (f *codeFlow) run(ctx context.Context) (idToken string, flow, token time.Duration, err error) {
	start := time.Now()
	code, verifier, err := f.authorize(ctx)
	if err != nil {
		return "", 0, 0, err
	}
	tokenStart := time.Now()
	idToken, err = f.exchange(ctx, code, verifier)
	if err != nil {
		return "", 0, 0, err
	}
	now := time.Now()
	return idToken, now.Sub(start), now.Sub(tokenStart), nil
}

// authorize is a flow's browser part, with a new PKCE verifier, state and
// nonce: GET /oidc/authorize → 302 /oidc/login → (the cookie) 302
// /oidc/authorize/callback → 302 to the redirect URI with the code and the
// state. It returns the code and its verifier.
func (f *codeFlow) authorize(ctx context.Context) (code, verifier string, err error) {
	verifier = core.NewSecret(32) // 43 characters, RFC 7636 §4.1
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := core.NewSecret(16), core.NewSecret(16)
	f.nonce = nonce
	q := url.Values{
		"client_id": {oidcClientID}, "redirect_uri": {oidcRedirectURI}, "response_type": {"code"},
		"scope": {f.scope}, "state": {state}, "nonce": {nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	next := f.base.ResolveReference(&url.URL{Path: "/oidc/authorize", RawQuery: q.Encode()})
	for _, want := range []string{"/oidc/login", "/oidc/authorize/callback", ""} {
		if next, err = f.redirect(ctx, next); err != nil {
			return "", "", err
		}
		if want != "" && next.Path != want {
			return "", "", fmt.Errorf("redirected to %s, want %s", next, want)
		}
	}
	back := next.Query()
	if got := strings.TrimSuffix(next.String(), "?"+next.RawQuery); got != oidcRedirectURI || back.Get("state") != state || back.Get("code") == "" {
		return "", "", fmt.Errorf("the application was sent to %s", next.Redacted())
	}
	return back.Get("code"), verifier, nil
}

// redirect GETs u as the browser and returns where the 302 sends it.
func (f *codeFlow) redirect(ctx context.Context, u *url.URL) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	res, err := f.browser.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther || loc == "" {
		return nil, &statusError{"GET", u.Path, res.StatusCode, string(raw)}
	}
	return u.Parse(loc)
}

// exchange is the application's token request (client_secret_basic) and
// returns the ID token of the answer.
func (f *codeFlow) exchange(ctx context.Context, code, verifier string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oidcRedirectURI},
		"code_verifier": {verifier}}
	u := f.base.ResolveReference(&url.URL{Path: "/oidc/token"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(oidcClientID), url.QueryEscape(f.secret)) // RFC 6749 §2.3.1
	res, err := f.token.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", &statusError{"POST", "/oidc/token", res.StatusCode, string(raw)}
	}
	var tokens struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := json.Unmarshal(raw, &tokens); err != nil {
		return "", fmt.Errorf("POST /oidc/token: %w", err)
	}
	if tokens.AccessToken == "" || tokens.IDToken == "" {
		return "", fmt.Errorf("POST /oidc/token answered without an access or ID token: %.200s", raw)
	}
	return tokens.IDToken, nil
}

// checkIDToken verifies an ID token's RS256 signature with the provider's
// published keys (/oidc/keys) and that it names the user and the client.
func checkIDToken(ctx context.Context, httpc *http.Client, serverURL, token, userID, nonce string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	var header struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return err
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("signed with %q, want RS256", header.Alg)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serverURL+"/oidc/keys", nil)
	if err != nil {
		return err
	}
	res, err := httpc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		return fmt.Errorf("GET /oidc/keys: %w", err)
	}
	i := slices.IndexFunc(set.Keys, func(k jwk) bool {
		return k.KID == header.KID && k.Kty == "RSA"
	})
	if i < 0 {
		return fmt.Errorf("no RSA key %q in /oidc/keys", header.KID)
	}
	n, err1 := base64.RawURLEncoding.DecodeString(set.Keys[i].N)
	e, err2 := base64.RawURLEncoding.DecodeString(set.Keys[i].E)
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("the signature does not verify: %w", err)
	}
	var claims struct {
		Sub   string          `json:"sub"`
		Aud   json.RawMessage `json:"aud"`
		Nonce string          `json:"nonce"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return err
	}
	if claims.Sub != userID || !strings.Contains(string(claims.Aud), `"`+oidcClientID+`"`) || claims.Nonce != nonce {
		return fmt.Errorf("claims sub %q aud %s nonce %q: want the user %s, the client %s and the nonce %q",
			claims.Sub, claims.Aud, claims.Nonce, userID, oidcClientID, nonce)
	}
	return nil
}

type jwk struct {
	KID string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func decodeSegment(seg string, out any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
