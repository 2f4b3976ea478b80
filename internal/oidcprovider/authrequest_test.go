package oidcprovider

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
)

// t0 is the requests' clock at the start of a test.
var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type requestsFixture struct {
	q     *requests
	kv    core.KV
	clock *clocktest.Clock // the requests' clock; the KV's own stands still
}

// eachKV runs fn on the in-process KV and on the shared test Redis. The KV
// keeps its own time (a clock of its own that never moves, or Redis's), so
// when the test moves the requests' clock past a TTL the KV still holds the
// record: what expires it is the requests' check by the injected clock.
func eachKV(t *testing.T, fn func(t *testing.T, f *requestsFixture)) {
	t.Helper()
	t.Parallel()
	for _, kind := range []ephemeraltest.Kind{ephemeraltest.InProcess, ephemeraltest.OnRedis} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			kv := ephemeraltest.Open(t, kind, clocktest.New(t0), ephemeraltest.Name("oidctest")+":")
			clock := clocktest.New(t0)
			q := &requests{kv: kv, clock: clock, ttl: DefaultRequestTTL, codeTTL: DefaultCodeTTL}
			fn(t, &requestsFixture{q: q, kv: kv, clock: clock})
		})
	}
}

func ctxOf(t *testing.T) context.Context { return ephemeraltest.Context(t) }

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// newAuthRequest is a request made now, with every field set.
func (f *requestsFixture) newAuthRequest(t *testing.T) *authRequest {
	t.Helper()
	maxAge := uint(600)
	r := &authRequest{
		ID:           core.NewSecret(16),
		CreatedAt:    f.clock.Now(),
		ClientID:     "clt_wiki",
		ClientName:   "Wiki",
		RedirectURI:  "https://wiki.example.com/callback",
		Scopes:       []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeOfflineAccess},
		State:        "state-1",
		Nonce:        "nonce-1",
		ResponseType: oidc.ResponseTypeCode,
		ResponseMode: oidc.ResponseModeQuery,
		Prompt:       []string{oidc.PromptConsent},
		MaxAge:       &maxAge,
		LoginHint:    "ada@example.com",
		HintSubject:  "usr_hint",
		Challenge:    &oidc.CodeChallenge{Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Method: oidc.CodeChallengeMethodS256},
	}
	mustOK(t, f.q.create(ctxOf(t), r))
	return r
}

func newLogin(user string) *completedLogin {
	return &completedLogin{
		UserID: user, AMR: []string{"pwd", core.MethodPush},
		AuthTime: t0.Add(-time.Minute), SessionID: core.NewID(core.PrefixSession),
	}
}

// codeFor completes r with a login and saves a code for it.
func (f *requestsFixture) codeFor(t *testing.T, r *authRequest, l *completedLogin) string {
	t.Helper()
	mustOK(t, f.q.complete(ctxOf(t), r.ID, l))
	code := core.NewSecret(32)
	mustOK(t, f.q.saveCode(ctxOf(t), r.ID, code))
	return code
}

func (f *requestsFixture) present(t *testing.T, key string) bool {
	t.Helper()
	_, ok, err := f.kv.Get(ctxOf(t), key)
	mustOK(t, err)
	return ok
}

func TestRequestCreateAndRead(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		r := f.newAuthRequest(t)
		got, err := f.q.byID(ctx, r.ID)
		mustOK(t, err)
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("byID\n got %+v\nwant %+v", got, r)
		}
		if got.Done() || got.code != "" {
			t.Fatalf("a new request is done (%v) or has a code (%q)", got.Done(), got.code)
		}

		// Written once: the same id again is refused and changes nothing.
		again := *r
		again.ClientName = "Impostor"
		if err := f.q.create(ctx, &again); err == nil {
			t.Fatal("a second create with the same id succeeded")
		}
		if got, _ := f.q.byID(ctx, r.ID); got.ClientName != "Wiki" {
			t.Fatalf("the second create overwrote the request: %q", got.ClientName)
		}

		for _, id := range []string{"", core.NewSecret(16), strings.Repeat("a", 129)} {
			_, err := f.q.byID(ctx, id)
			wantErr(t, err, errUnknownRequest)
		}
	})
}

// A request expires by the service's clock, whatever the KV still holds.
func TestRequestExpiresByTheClock(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		r := f.newAuthRequest(t)
		f.clock.Advance(f.q.ttl - time.Nanosecond)
		_, err := f.q.byID(ctx, r.ID)
		mustOK(t, err)

		f.clock.Advance(time.Nanosecond)
		_, err = f.q.byID(ctx, r.ID)
		wantErr(t, err, errUnknownRequest)
		if !f.present(t, kvRequest+r.ID) {
			t.Fatal("the KV dropped the request; the test needs it kept")
		}
	})
}

func TestCompleteTwiceKeepsTheFirst(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		r := f.newAuthRequest(t)
		first, second := newLogin("usr_first"), newLogin("usr_second")
		mustOK(t, f.q.complete(ctx, r.ID, first))
		mustOK(t, f.q.complete(ctx, r.ID, second))
		got, err := f.q.byID(ctx, r.ID)
		mustOK(t, err)
		if !got.Done() || !reflect.DeepEqual(got.Login, first) {
			t.Fatalf("Login = %+v, want the first %+v", got.Login, first)
		}
		if got.GetSubject() != "usr_first" {
			t.Fatalf("subject %q", got.GetSubject())
		}
	})
}

func TestSaveCodeOncePerRequest(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		r := f.newAuthRequest(t)
		code := f.codeFor(t, r, newLogin("usr_a"))
		replayed := core.NewSecret(32)
		if err := f.q.saveCode(ctx, r.ID, replayed); err == nil {
			t.Fatal("a second code for the request was saved")
		}
		_, _, err := f.q.claimCode(ctx, replayed)
		wantErr(t, err, errUnknownRequest)
		got, _, err := f.q.claimCode(ctx, code)
		mustOK(t, err)
		if got.ID != r.ID {
			t.Fatalf("the first code claimed request %s, want %s", got.ID, r.ID)
		}
		// The code is kept by its hash only.
		if f.present(t, kvCode+code) || !f.present(t, kvCode+codeKey(code)) {
			t.Fatal("the code is stored in clear, or not by its hash")
		}
	})
}

func TestClaimCodeOnce(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		r := f.newAuthRequest(t)
		login := newLogin("usr_a")
		code := f.codeFor(t, r, login)

		got, minted, err := f.q.claimCode(ctx, code)
		mustOK(t, err)
		if minted != "" || got.ID != r.ID || got.code != code || got.ClientID != r.ClientID ||
			!reflect.DeepEqual(got.Login, login) || !reflect.DeepEqual(got.Scopes, r.Scopes) ||
			!reflect.DeepEqual(got.Challenge, r.Challenge) {
			t.Fatalf("first claim = %+v, %q; want request %s with its login", got, minted, r.ID)
		}

		// Reused before its tokens were recorded: refused, nothing to revoke.
		got, minted, err = f.q.claimCode(ctx, code)
		wantErr(t, err, errCodeReused)
		if got != nil || minted != "" {
			t.Fatalf("early reuse = %+v, %q", got, minted)
		}

		// Reused after: refused, naming the session the first use minted.
		sid := core.NewID(core.PrefixSession)
		mustOK(t, f.q.minted(ctx, code, sid))
		mustOK(t, f.q.minted(ctx, code, core.NewID(core.PrefixSession))) // the first stands
		for range 2 {
			got, minted, err = f.q.claimCode(ctx, code)
			wantErr(t, err, errCodeReused)
			if got != nil || minted != sid {
				t.Fatalf("reuse = %+v, minted %q; want %q", got, minted, sid)
			}
		}
	})
}

func TestClaimCodeConcurrentlyOneWinner(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		code := f.codeFor(t, f.newAuthRequest(t), newLogin("usr_a"))
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, _, errs[i] = f.q.claimCode(ctx, code) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, errCodeReused):
				t.Fatal(err)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent claims won; want 1", won, n)
		}
	})
}

// The expired code: older than codeTTL by the clock, it buys nothing, even
// though the KV still holds it and its request.
func TestClaimExpiredCode(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		fresh := f.codeFor(t, f.newAuthRequest(t), newLogin("usr_a"))
		r := f.newAuthRequest(t)
		expired := f.codeFor(t, r, newLogin("usr_b"))

		f.clock.Advance(f.q.codeTTL - time.Nanosecond)
		_, _, err := f.q.claimCode(ctx, fresh)
		mustOK(t, err)

		f.clock.Advance(time.Nanosecond)
		got, minted, err := f.q.claimCode(ctx, expired)
		wantErr(t, err, errUnknownRequest)
		if got != nil || minted != "" {
			t.Fatalf("expired claim = %+v, %q", got, minted)
		}
		if !f.present(t, kvCode+codeKey(expired)) || !f.present(t, kvRequest+r.ID) {
			t.Fatal("the KV dropped the code or its request; the test needs them kept")
		}
		// Still refused when presented again.
		if got, _, err := f.q.claimCode(ctx, expired); err == nil || got != nil {
			t.Fatalf("second claim of the expired code = %+v, %v", got, err)
		}
	})
}

// A code whose request has expired by the clock buys nothing either.
func TestClaimCodeOfExpiredRequest(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		r := f.newAuthRequest(t)
		f.clock.Advance(f.q.ttl - 30*time.Second)
		code := f.codeFor(t, r, newLogin("usr_a"))
		f.clock.Advance(30 * time.Second) // the code is fresh, its request is not
		_, _, err := f.q.claimCode(ctxOf(t), code)
		wantErr(t, err, errUnknownRequest)
	})
}

func TestClaimCodeOfUncompletedRequest(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		r := f.newAuthRequest(t)
		code := core.NewSecret(32)
		mustOK(t, f.q.saveCode(ctx, r.ID, code))
		got, _, err := f.q.claimCode(ctx, code)
		wantErr(t, err, errUnknownRequest)
		if got != nil {
			t.Fatalf("claim = %+v", got)
		}
		_, _, err = f.q.claimCode(ctx, core.NewSecret(32))
		wantErr(t, err, errUnknownRequest)
	})
}

// remove deletes the request and its completion once its code is
// exchanged; the code's spent mark stays, so a replay is still reuse.
func TestRemoveKeepsReuseDetection(t *testing.T) {
	eachKV(t, func(t *testing.T, f *requestsFixture) {
		ctx := ctxOf(t)
		r := f.newAuthRequest(t)
		code := f.codeFor(t, r, newLogin("usr_a"))
		_, _, err := f.q.claimCode(ctx, code)
		mustOK(t, err)
		sid := core.NewID(core.PrefixSession)
		mustOK(t, f.q.minted(ctx, code, sid))

		mustOK(t, f.q.remove(ctx, r.ID))
		_, err = f.q.byID(ctx, r.ID)
		wantErr(t, err, errUnknownRequest)
		if f.present(t, kvRequest+r.ID) || f.present(t, kvDone+r.ID) {
			t.Fatal("remove left the request or its completion")
		}
		_, minted, err := f.q.claimCode(ctx, code)
		wantErr(t, err, errCodeReused)
		if minted != sid {
			t.Fatalf("minted = %q, want %q", minted, sid)
		}
		mustOK(t, f.q.remove(ctx, r.ID)) // again is fine
	})
}
