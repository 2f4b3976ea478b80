package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/approvald/approvald/internal/passkey/passkeytest"
	"github.com/approvald/approvald/internal/password"
	"github.com/approvald/approvald/internal/store"
)

// PasskeyResult compares complete passkey (WebAuthn) logins with the
// machine's raw ECDSA P-256 verification rate (each login verifies one
// ES256 assertion).
type PasskeyResult struct {
	Workers    int     `json:"workers"` // one user and one credential each
	Seconds    float64 `json:"seconds"`
	Logins     int     `json:"logins"` // complete: options → assertion → token pair
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	PerSecond  float64 `json:"per_second"`
	Login      Latency `json:"login"`  // the whole login, both requests and the harness's signature
	Finish     Latency `json:"finish"` // POST /api/v1/login/passkey alone
	// The raw rate: ecdsa.VerifyASN1 on P-256 over a SHA-256 digest of an
	// assertion's signed data, on GOMAXPROCS goroutines, half the phase's
	// time before the logins and half after; Ratio is PerSecond / the mean.
	VerifyBefore    float64 `json:"p256_verify_before"`
	VerifyAfter     float64 `json:"p256_verify_after"`
	VerifyPerSecond float64 `json:"p256_verify_per_second"`
	Ratio           float64 `json:"ratio"`
	// What a raw verification costs in CPU (the harness's, over both
	// samples), the cores other processes used meanwhile, and that CPU
	// over a login's CPU in approvald alone and in everything (approvald,
	// PostgreSQL, Redis and the harness), as the oidc phase has them.
	VerifyCPUMs      float64 `json:"p256_cpu_ms_per_verify"`
	VerifyOtherCores float64 `json:"p256_other_cores"`
	CPURatio         float64 `json:"cpu_ratio"`
	CPURatioAll      float64 `json:"cpu_ratio_all"`
	// The harness signs every assertion (ecdsa.SignASN1, P-256): the CPU
	// of one signature, sampled apart after the logins, and its share of
	// the harness's CPU per login.
	SignCPUMs        float64 `json:"p256_cpu_ms_per_sign"`
	SignHarnessShare float64 `json:"sign_share_of_harness"`
	// Cores during the logins, and CPU milliseconds per complete login.
	ServerCores       float64 `json:"server_cores"`
	DepsCores         float64 `json:"deps_cores"`
	HarnessCores      float64 `json:"harness_cores"`
	OtherCores        float64 `json:"other_cores"`
	ServerMsPerLogin  float64 `json:"server_cpu_ms_per_login"`
	DepsMsPerLogin    float64 `json:"deps_cpu_ms_per_login"`
	HarnessMsPerLogin float64 `json:"harness_cpu_ms_per_login"`
}

// passkeyPublicURL is the PUBLIC_URL the passkey phase needs: a host name
// (an IP address turns passkeys off) on the port of addr, 127.0.0.1:PORT.
func passkeyPublicURL(addr string) (string, error) {
	u, err := url.Parse("http://" + addr)
	if err != nil || u.Port() == "" {
		return "", fmt.Errorf("no port in %q", addr)
	}
	return "http://localhost:" + u.Port(), nil
}

// authTB lets the bench drive passkeytest, whose methods report the way a
// test does (passkeytest.TB): a failure panics with a tbFailure
// (benchTB.attempt turns it back into an error).
type authTB struct{}

func (authTB) Helper()                           {}
func (authTB) Fatal(args ...any)                 { panic(tbFailure{errors.New(fmt.Sprint(args...))}) }
func (authTB) Fatalf(format string, args ...any) { panic(tbFailure{fmt.Errorf(format, args...)}) }

// attemptAuth runs f, which calls the software authenticator, and returns
// the failure it reported.
func attemptAuth(f func()) error { return (&benchTB{}).attempt(f) }

// passkeyUser is a user with two-factor off and one registered passkey,
// the software authenticator that holds it.
type passkeyUser struct {
	ID   string
	Auth *passkeytest.Authenticator
}

// seedPasskeyUsers writes n verified users with two-factor off straight
// into the database (the bench-only shortcut of seedSSOUser), and gives
// each a passkey through the API: POST /api/v1/login (a password alone, a
// fresh login), POST /api/v1/passkeys/registration, the software
// authenticator's answer, POST /api/v1/passkeys.
func seedPasskeyUsers(ctx context.Context, databaseURL string, a *api, rpID, origin string, n int) ([]*passkeyUser, error) {
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	hash, err := password.New(password.Params{}, 1).Hash(ctx, benchPassword)
	if err != nil {
		return nil, err
	}
	out := make([]*passkeyUser, n)
	for i, phone := range phones(n) {
		now := time.Now().UTC()
		u, err := writeVerifiedUser(ctx, db, fmt.Sprintf("Bench passkey %d", i), phone, hash, false, now)
		if err != nil {
			return nil, err
		}
		var pair struct {
			AccessToken string `json:"access_token"`
		}
		if err := a.call(ctx, "POST", "/api/v1/login", nil, map[string]string{"phone": phone, "password": benchPassword},
			http.StatusOK, &pair); err != nil {
			return nil, err
		}
		var reg struct {
			RegistrationID string                                      `json:"registration_id"`
			Options        protocol.PublicKeyCredentialCreationOptions `json:"options"`
		}
		if err := a.call(ctx, "POST", "/api/v1/passkeys/registration", bearer(pair.AccessToken), nil, http.StatusOK, &reg); err != nil {
			return nil, err
		}
		pu := &passkeyUser{ID: u.ID}
		var credential json.RawMessage
		if err := attemptAuth(func() {
			pu.Auth = passkeytest.New(authTB{}, rpID, origin)
			credential = pu.Auth.Create(authTB{}, &reg.Options)
		}); err != nil {
			return nil, err
		}
		body := map[string]any{"registration_id": reg.RegistrationID, "name": "approvalbench", "credential": credential}
		if err := a.call(ctx, "POST", "/api/v1/passkeys", bearer(pair.AccessToken), body, http.StatusCreated, nil); err != nil {
			return nil, err
		}
		out[i] = pu
	}
	return out, nil
}

// passkeyPhase gives -passkey-workers users a passkey each, then runs as
// many complete passkey logins at a time for -passkey, between two samples
// of the raw ECDSA P-256 verification rate.
func (b *bench) passkeyPhase(ctx context.Context) (*PasskeyResult, error) {
	cfg := b.cfg
	origin := b.srv.PublicURL
	pub, err := url.Parse(origin)
	if err != nil || pub.Hostname() == "" {
		return nil, fmt.Errorf("passkey: approvald announced PUBLIC_URL %q", origin)
	}
	b.say("passkey: %d users with two-factor off, each registering a passkey (RP ID %s)", cfg.PasskeyWorkers, pub.Hostname())
	users, err := seedPasskeyUsers(ctx, b.databaseURL, b.api, pub.Hostname(), origin, cfg.PasskeyWorkers)
	if err != nil {
		return nil, fmt.Errorf("passkey: registering: %w", err)
	}
	httpc := newHTTPClient(b.src, cfg.PasskeyWorkers)
	defer httpc.CloseIdleConnections()
	a := &api{base: b.srv.URL, http: httpc}
	// One login first, its access token checked to be the user's: the
	// timed logins then only read that a token pair came back.
	access, _, _, err := passkeyLoginOnce(ctx, a, users[0].Auth)
	if err != nil {
		return nil, fmt.Errorf("passkey: the first login: %w", err)
	}
	var me struct {
		UserID string `json:"user_id"`
	}
	if err := a.call(ctx, "GET", "/api/v1/me", bearer(access), nil, http.StatusOK, &me); err != nil {
		return nil, fmt.Errorf("passkey: the first login's token: %w", err)
	}
	if me.UserID != users[0].ID {
		return nil, fmt.Errorf("passkey: the first login is %q's, want %q's", me.UserID, users[0].ID)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	half := cfg.Passkey / 2
	b.say("passkey: raw ECDSA P-256 verification rate, %s on every core", half)
	r := &PasskeyResult{Workers: cfg.PasskeyWorkers}
	verify, err := p256Verify(key)
	if err != nil {
		return nil, err
	}
	before, err := b.rawSample(ctx, half, verify)
	if err != nil {
		return nil, err
	}

	b.say("passkey: %d passkey logins at a time for %s", cfg.PasskeyWorkers, cfg.Passkey)
	stopProfile := b.profile(ctx, "passkey-cpu", int(cfg.Passkey.Seconds()))
	var run *workerRun
	harness0, _ := cpuTime(os.Getpid())
	cpu := b.measureCPU(func() { run = runPasskeyLogins(ctx, a, users, cfg.Passkey) })
	harness1, _ := cpuTime(os.Getpid())
	stopProfile()

	b.say("passkey: raw ECDSA P-256 verification rate again, %s on every core", half)
	after, err := b.rawSample(ctx, half, verify)
	if err != nil {
		return nil, err
	}
	// What the harness's own signature of each assertion costs.
	sign, err := b.rawSample(ctx, min(half, time.Second), p256Sign(key))
	if err != nil {
		return nil, err
	}
	r.fill(run, cpu, harness1-harness0, before, after, sign)
	b.say("passkey: %.0f logins/s (%d, %d errors), login p50 %.2f ms p99 %.2f ms; raw P-256 verify %.0f/s; ratio %.1f %%",
		r.PerSecond, r.Logins, r.Errors, r.Login.P50, r.Login.P99, r.VerifyPerSecond, r.Ratio*100)
	if r.Logins == 0 {
		return r, fmt.Errorf("passkey: no login completed (%d errors; first: %s)", r.Errors, r.FirstError)
	}
	return r, b.alive()
}

// p256Verify is one raw verification as a passkey login has it: SHA-256
// over authenticatorData ‖ SHA-256(clientDataJSON), then ecdsa.VerifyASN1.
func p256Verify(key *ecdsa.PrivateKey) (func() error, error) {
	// The sizes of an assertion's: 37 bytes of authenticator data, the
	// digest of a clientDataJSON of about 150 bytes.
	clientData := sha256.Sum256(bytes.Repeat([]byte(`{"type":"webauthn.get",`), 7))
	signed := append(bytes.Repeat([]byte{0x49}, 37), clientData[:]...)
	digest := sha256.Sum256(signed)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	pub := &key.PublicKey
	return func() error {
		d := sha256.Sum256(signed)
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			return errors.New("the P-256 signature does not verify")
		}
		return nil
	}, nil
}

// p256Sign is one signature as the software authenticator makes it.
func p256Sign(key *ecdsa.PrivateKey) func() error {
	signed := bytes.Repeat([]byte{0x49}, 37+32)
	return func() error {
		d := sha256.Sum256(signed)
		_, err := ecdsa.SignASN1(rand.Reader, key, d[:])
		return err
	}
}

// rawSample runs op on every core (GOMAXPROCS goroutines) for d and
// returns how many were done in how long, the harness's CPU meanwhile and
// what other processes used.
func (b *bench) rawSample(ctx context.Context, d time.Duration, op func() error) (signs, error) {
	o := watchOthers(b.srv.PID())
	c0, _ := cpuTime(os.Getpid())
	n, wall, err := onEveryCore(ctx, d, op)
	c1, _ := cpuTime(os.Getpid())
	return signs{n: n, wall: wall, cpu: c1 - c0, otherCores: o.Cores()}, err
}

func onEveryCore(ctx context.Context, d time.Duration, op func() error) (int64, time.Duration, error) {
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
				if err := op(); err != nil {
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
		return 0, took, errors.New("no operation completed")
	}
	return done.Load(), took, nil
}

// fill derives the figures of run, of the CPU used meanwhile and of the
// raw samples.
func (r *PasskeyResult) fill(run *workerRun, cpu cpuUse, harness time.Duration, before, after, sign signs) {
	r.Seconds = run.took.Seconds()
	r.Logins, r.Errors = len(run.whole), run.errors
	if run.first != nil {
		r.FirstError = run.first.Error()
	}
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Logins) / r.Seconds
	}
	r.Login, r.Finish = summarize(run.whole), summarize(run.last)
	r.VerifyBefore, r.VerifyAfter, r.VerifyPerSecond, r.VerifyCPUMs = rawPair(before, after)
	if r.VerifyPerSecond > 0 {
		r.Ratio = r.PerSecond / r.VerifyPerSecond
	}
	r.VerifyOtherCores = (before.otherCores + after.otherCores) / 2
	if sign.n > 0 {
		r.SignCPUMs = ms(sign.cpu) / float64(sign.n)
	}
	s := splitCPU(cpu, harness, r.Logins)
	r.ServerCores, r.DepsCores, r.HarnessCores, r.OtherCores = s.serverCores, s.depsCores, s.harnessCores, cpu.otherCores
	r.ServerMsPerLogin, r.DepsMsPerLogin, r.HarnessMsPerLogin = s.serverMs, s.depsMs, s.harnessMs
	if r.HarnessMsPerLogin > 0 {
		r.SignHarnessShare = r.SignCPUMs / r.HarnessMsPerLogin
	}
	if r.ServerMsPerLogin > 0 {
		r.CPURatio = r.VerifyCPUMs / r.ServerMsPerLogin
		r.CPURatioAll = r.VerifyCPUMs / (r.ServerMsPerLogin + r.DepsMsPerLogin + r.HarnessMsPerLogin)
	}
}

// runPasskeyLogins runs one login after another with each user's
// authenticator (a worker each: its signature counter goes up one login
// at a time) until d has passed (runWorkers): whole is a login, last its
// second request.
func runPasskeyLogins(ctx context.Context, a *api, users []*passkeyUser, d time.Duration) *workerRun {
	return runWorkers(ctx, len(users), d, func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		_, took, finishTook, err := passkeyLoginOnce(ctx, a, users[i].Auth)
		return took, finishTook, err
	})
}

// passkeyLoginOnce is one complete passkey login as a browser makes it:
// POST /api/v1/login/passkey/options, the authenticator's assertion over
// the challenge (signed here), POST /api/v1/login/passkey. It returns the
// access token, the whole login's time and the second request's.
func passkeyLoginOnce(ctx context.Context, a *api, auth *passkeytest.Authenticator) (access string, login, finish time.Duration, err error) {
	start := time.Now()
	var opts struct {
		ChallengeID string                                     `json:"challenge_id"`
		Options     protocol.PublicKeyCredentialRequestOptions `json:"options"`
	}
	if err := a.call(ctx, "POST", "/api/v1/login/passkey/options", nil, nil, http.StatusOK, &opts); err != nil {
		return "", 0, 0, err
	}
	var credential json.RawMessage
	if err := attemptAuth(func() { credential = auth.Get(authTB{}, &opts.Options) }); err != nil {
		return "", 0, 0, err
	}
	finishStart := time.Now()
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	body := map[string]any{"challenge_id": opts.ChallengeID, "credential": credential}
	if err := a.call(ctx, "POST", "/api/v1/login/passkey", nil, body, http.StatusOK, &pair); err != nil {
		return "", 0, 0, err
	}
	now := time.Now()
	if pair.AccessToken == "" || pair.RefreshToken == "" {
		return "", 0, 0, errors.New("POST /api/v1/login/passkey answered without a token pair")
	}
	return pair.AccessToken, now.Sub(start), now.Sub(finishStart), nil
}
