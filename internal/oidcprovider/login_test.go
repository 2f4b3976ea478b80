package oidcprovider

import (
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
)

// satisfies decides whether the browser's single sign-on session completes
// a request without a new login.
func TestSatisfies(t *testing.T) {
	// The request was made at created: mid-second, with nanoseconds the
	// database does not keep (it stores microseconds). The provider's clock
	// reads now, ten minutes later.
	created := t0.Add(600*time.Millisecond + 700*time.Nanosecond)
	createdStored := created.Truncate(time.Microsecond)
	now := created.Add(10 * time.Minute)
	uintp := func(v uint) *uint { return &v }

	for _, tc := range []struct {
		name     string
		hint     string   // the id_token_hint's subject
		prompt   []string // prompt values
		maxAge   *uint
		authTime time.Time // the session's last proof of a factor
		user     string    // the session's user
		want     bool
	}{
		{name: "no conditions, old login", authTime: t0.Add(-11 * time.Hour), want: true},
		{name: "prompt=consent is no condition", prompt: []string{oidc.PromptConsent}, authTime: t0.Add(-time.Hour), want: true},
		{name: "prompt=none is no condition", prompt: []string{oidc.PromptNone}, authTime: t0.Add(-time.Hour), want: true},

		{name: "hint of the user", hint: "usr_ada", authTime: t0.Add(-time.Hour), want: true},
		{name: "hint of another user", hint: "usr_bob", authTime: now, want: false},
		{name: "hint of another user, prompt=login", hint: "usr_bob", prompt: []string{oidc.PromptLogin}, authTime: now, want: false},
		{name: "hint of the user, prompt=login, old login", hint: "usr_ada", prompt: []string{oidc.PromptLogin}, authTime: created.Add(-time.Second), want: false},

		// prompt=login (or max_age=0): a login at or after the request, at
		// the database's precision (microseconds), never coarser.
		{name: "prompt=login, login after the request", prompt: []string{oidc.PromptLogin}, authTime: created.Add(time.Minute), want: true},
		{name: "prompt=login, login at the request", prompt: []string{oidc.PromptLogin}, authTime: created, want: true},
		{name: "prompt=login, login at the request, stored in microseconds", prompt: []string{oidc.PromptLogin}, authTime: createdStored, want: true},
		{name: "prompt=login, login a microsecond before", prompt: []string{oidc.PromptLogin}, authTime: createdStored.Add(-time.Microsecond), want: false},
		{name: "prompt=login, login earlier in the request's second", prompt: []string{oidc.PromptLogin}, authTime: t0.Add(300 * time.Millisecond), want: false},
		{name: "prompt=login, login at the start of the request's second", prompt: []string{oidc.PromptLogin}, authTime: t0, want: false},
		{name: "prompt=login, old login", prompt: []string{oidc.PromptLogin}, authTime: t0.Add(-time.Hour), want: false},
		{name: "prompt=login among others", prompt: []string{oidc.PromptConsent, oidc.PromptLogin}, authTime: t0.Add(-time.Second), want: false},
		{name: "max_age=0, login after the request", maxAge: uintp(0), authTime: created.Add(time.Second), want: true},
		{name: "max_age=0, login at the request, stored in microseconds", maxAge: uintp(0), authTime: createdStored, want: true},
		{name: "max_age=0, login earlier in the request's second", maxAge: uintp(0), authTime: t0.Add(300 * time.Millisecond), want: false},
		{name: "max_age=0, login a microsecond before", maxAge: uintp(0), authTime: createdStored.Add(-time.Microsecond), want: false},
		{name: "prompt=login overrides a long max_age", prompt: []string{oidc.PromptLogin}, maxAge: uintp(86400), authTime: t0.Add(-time.Minute), want: false},

		// max_age counts back from now, by the provider's clock.
		{name: "max_age, login within", maxAge: uintp(300), authTime: now.Add(-299 * time.Second), want: true},
		{name: "max_age, login exactly at the limit", maxAge: uintp(300), authTime: now.Add(-300 * time.Second), want: true},
		{name: "max_age, login just too old", maxAge: uintp(300), authTime: now.Add(-300*time.Second - time.Nanosecond), want: false},
		{name: "max_age, login before the request but recent enough", maxAge: uintp(3600), authTime: created.Add(-time.Minute), want: true},
		{name: "max_age, login long ago", maxAge: uintp(3600), authTime: now.Add(-2 * time.Hour), want: false},
		{name: "max_age and a hint of another user", hint: "usr_bob", maxAge: uintp(3600), authTime: now, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Provider{clock: clocktest.New(now)}
			req := &authRequest{ID: "r", CreatedAt: created, Prompt: tc.prompt, MaxAge: tc.maxAge, HintSubject: tc.hint}
			user := tc.user
			if user == "" {
				user = "usr_ada"
			}
			s := &core.Session{ID: "ses_x", UserID: user, AMR: []string{"pwd", core.MethodPush}, AuthTime: tc.authTime}
			if got := p.satisfies(req, s); got != tc.want {
				t.Fatalf("satisfies = %v, want %v", got, tc.want)
			}
		})
	}
}

// The same session satisfies a max_age request until, not after, max_age
// has passed since its login, as the clock moves.
func TestSatisfiesMaxAgeAsTimeMoves(t *testing.T) {
	clock := clocktest.New(t0)
	p := &Provider{clock: clock}
	maxAge := uint(60)
	req := &authRequest{ID: "r", CreatedAt: t0, MaxAge: &maxAge}
	s := &core.Session{ID: "ses_x", UserID: "usr_ada", AuthTime: t0}
	if !p.satisfies(req, s) {
		t.Fatal("a login made now does not satisfy max_age=60")
	}
	clock.Advance(time.Minute)
	if !p.satisfies(req, s) {
		t.Fatal("a login exactly 60 s old does not satisfy max_age=60")
	}
	clock.Advance(time.Nanosecond)
	if p.satisfies(req, s) {
		t.Fatal("a login over 60 s old satisfies max_age=60")
	}
}

// prompt=login and max_age=0 want a login made after the request: one made
// earlier in the same second does not count (it did, when the request's
// time was truncated to the second), one made a microsecond later does
// (the stores keep times to the microsecond).
func TestForcedLoginWantsALoginAfterTheRequest(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 600_000_789, time.UTC)
	p := &Provider{clock: clocktest.New(created.Add(time.Second))}
	for _, req := range []*authRequest{
		{CreatedAt: created, Prompt: []string{oidc.PromptLogin}, MaxAge: oidc.NewMaxAge(0)},
		{CreatedAt: created, MaxAge: oidc.NewMaxAge(0)},
	} {
		for _, c := range []struct {
			authTime time.Time
			want     bool
		}{
			{created.Add(-500 * time.Millisecond), false}, // the same second, before
			{created.Add(-time.Hour), false},
			{created.Add(time.Microsecond).Truncate(time.Microsecond), true},
			{created.Add(time.Minute), true},
		} {
			s := &core.Session{UserID: "usr_1", AuthTime: c.authTime}
			if got := p.satisfies(req, s); got != c.want {
				t.Errorf("prompt %v max_age %d, request at %s, login at %s: satisfied %v, want %v",
					req.Prompt, *req.MaxAge, req.CreatedAt.Format(time.StampMicro), c.authTime.Format(time.StampMicro), got, c.want)
			}
		}
	}
}
