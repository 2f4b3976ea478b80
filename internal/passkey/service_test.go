package passkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/approvald/approvald/internal/audittest"
	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/passkey"
	"github.com/approvald/approvald/internal/passkey/passkeytest"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

var t0 = time.Now().UTC().Truncate(time.Second)

const (
	rpID   = "login.example.com"
	origin = "https://login.example.com"
)

type issued struct {
	mu    sync.Mutex
	users []string
	amrs  [][]string
}

func (i *issued) Issue(_ context.Context, userID string, amr []string, _ time.Time) (*session.TokenPair, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.users = append(i.users, userID)
	i.amrs = append(i.amrs, amr)
	return &session.TokenPair{AccessToken: "access-" + userID, TokenType: "Bearer"}, nil
}

type notices struct {
	mu   sync.Mutex
	sent []string
}

func (n *notices) Notify(_ context.Context, phone, text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, phone+": "+text)
}

type fixture struct {
	svc     *passkey.Service
	db      *store.DB
	clock   *clocktest.Clock
	audit   *audittest.Log
	issued  *issued
	notices *notices
	user    *core.User
}

func newFixture(t *testing.T, publicURL string) *fixture {
	t.Helper()
	return newFixtureOn(t, publicURL, ephemeraltest.InProcess)
}

// newFixtureOn is a service at publicURL on SQLite, its ceremonies and
// limits on kind, a manual clock, and a verified user.
func newFixtureOn(t *testing.T, publicURL string, kind ephemeraltest.Kind) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, clock: clocktest.New(t0), audit: &audittest.Log{}, issued: &issued{}, notices: &notices{}}
	eph := ephemeraltest.Open(t, kind, f.clock, "test:"+core.NewSecret(8)+":")
	f.svc, err = passkey.New(passkey.Config{PublicURL: publicURL, ExtraOrigins: []string{"https://app.example.com"}}, passkey.Deps{
		Passkeys: db, Users: db, KV: eph, Limiter: eph, Tokens: f.issued, Notices: f.notices, Audit: f.audit,
		Limits: passkey.DefaultLimits(), Clock: f.clock, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.user = f.newUser(t)
	return f
}

func (f *fixture) newUser(t *testing.T) *core.User {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	u := &core.User{
		ID: core.NewID(core.PrefixUser), Name: "Ada", Phone: testenv.RandomPhone(),
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", TwoFactor: true, CreatedAt: now, UpdatedAt: now,
	}
	v := &core.Verification{
		ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "unused",
		Status: core.VerificationPending, ExpiresAt: now.Add(10 * time.Minute), LastSentAt: now, CreatedAt: now,
	}
	if err := f.db.CreateSignup(ctx, u, v); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CompleteVerification(ctx, v.ID, now); err != nil {
		t.Fatal(err)
	}
	return u
}

// register makes a the user's passkey.
func (f *fixture) register(t *testing.T, a *passkeytest.Authenticator, userID string) *core.Passkey {
	t.Helper()
	ctx := context.Background()
	id, opts, err := f.svc.BeginRegistration(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.FinishRegistration(ctx, userID, passkey.Registration{ID: id, Name: "Laptop", Credential: a.Create(t, opts)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// login runs a login ceremony with a and returns its result.
func (f *fixture) login(t *testing.T, a *passkeytest.Authenticator) (*passkey.Login, error) {
	t.Helper()
	id, opts, err := f.svc.BeginLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishLogin(context.Background(), id, a.Get(t, opts))
}

// wantRefused checks that err is the one refusal, for the reason (in the
// cause, which only the log sees) that contains why.
func wantRefused(t *testing.T, err error, what, why string) {
	t.Helper()
	if !core.IsCode(err, core.EPasskeyRefused) {
		t.Fatalf("%s: got %v, want %s", what, err, core.EPasskeyRefused)
	}
	e := err.(*core.Error)
	if e.Message != "the passkey was not accepted" || e.Field != "" {
		t.Fatalf("%s: %+v says more than the one refusal", what, e)
	}
	if e.Err == nil || !strings.Contains(e.Err.Error(), why) {
		t.Fatalf("%s: refused for %v, want a cause with %q", what, e.Err, why)
	}
}

func TestPasskeyRegisterAndLogin(t *testing.T) {
	f := newFixture(t, origin+"/auth")
	ctx := context.Background()
	id, opts, err := f.svc.BeginRegistration(ctx, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if opts.RelyingParty.ID != rpID || opts.AuthenticatorSelection.ResidentKey != "required" ||
		opts.AuthenticatorSelection.UserVerification != "required" || opts.Attestation != "none" {
		t.Fatalf("creation options %+v", opts)
	}
	a := passkeytest.New(t, rpID, origin)
	p, err := f.svc.FinishRegistration(ctx, f.user.ID, passkey.Registration{ID: id, Name: " Laptop ", Credential: a.Create(t, opts)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Laptop" || p.UserID != f.user.ID || p.BackupEligible {
		t.Fatalf("passkey %+v", p)
	}
	if len(f.audit.Of(core.EventPasskeyAdded)) != 1 || len(f.notices.sent) != 1 || !strings.Contains(f.notices.sent[0], "passkey \"Laptop\" was added") {
		t.Fatalf("events %+v, notices %q", f.audit.All(), f.notices.sent)
	}

	lid, lopts, err := f.svc.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lopts.AllowedCredentials) != 0 || lopts.UserVerification != "required" || lopts.RelyingPartyID != rpID {
		t.Fatalf("request options %+v", lopts)
	}
	login, err := f.svc.FinishLogin(ctx, lid, a.Get(t, lopts))
	if err != nil {
		t.Fatal(err)
	}
	if login.UserID != f.user.ID || login.PasskeyID != p.ID || login.Tokens.AccessToken == "" {
		t.Fatalf("login %+v", login)
	}
	if got := f.issued.amrs[0]; !slices.Equal(got, []string{"hwk", "user", "mfa"}) {
		t.Fatalf("amr %v", got)
	}
	list, _ := f.svc.List(ctx, f.user.ID)
	if len(list) != 1 || list[0].SignCount != 1 || list[0].LastUsedAt == nil {
		t.Fatalf("after login %+v", list[0])
	}
	// An extra origin (WEBAUTHN_ORIGINS) is accepted.
	a.Origin = "https://app.example.com"
	if _, err := f.login(t, a); err != nil {
		t.Fatalf("login from an extra origin: %v", err)
	}

	// Removed, the same authenticator is refused as any unknown one.
	if err := f.svc.Remove(ctx, f.user.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	if len(f.audit.Of(core.EventPasskeyRemoved)) != 1 || len(f.notices.sent) != 2 {
		t.Fatalf("removal: events %+v, notices %q", f.audit.All(), f.notices.sent)
	}
	_, err = f.login(t, a)
	wantRefused(t, err, "a removed passkey", "passkey not found")
	if err := f.svc.Remove(ctx, f.user.ID, p.ID); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("second removal: %v", err)
	}
}

// TestPasskeyRefusals runs on both ephemeral stores: the ceremonies are
// core.KV entries (Redis expires them by its own clock, so there the
// expired challenge is refused by the service's own expiry on its clock).
func TestPasskeyRefusals(t *testing.T) {
	for _, kind := range []ephemeraltest.Kind{ephemeraltest.InProcess, ephemeraltest.OnRedis} {
		t.Run(string(kind), func(t *testing.T) { testPasskeyRefusals(t, kind) })
	}
}

func testPasskeyRefusals(t *testing.T, kind ephemeraltest.Kind) {
	f := newFixtureOn(t, origin, kind)
	ctx := context.Background()
	a := passkeytest.New(t, rpID, origin)
	f.register(t, a, f.user.ID)

	t.Run("unknown credential", func(t *testing.T) {
		other := passkeytest.New(t, rpID, origin)
		other.UserHandle = []byte(f.user.ID)
		_, err := f.login(t, other)
		wantRefused(t, err, "an unknown credential", "passkey not found")
	})
	t.Run("wrong origin", func(t *testing.T) {
		a.Origin = "https://evil.example.net"
		defer func() { a.Origin = origin }()
		_, err := f.login(t, a)
		wantRefused(t, err, "a wrong origin", "origin")
	})
	t.Run("wrong RP ID", func(t *testing.T) {
		a.RPID = "evil.example.net"
		defer func() { a.RPID = rpID }()
		_, err := f.login(t, a)
		wantRefused(t, err, "a wrong RP ID", "RP Hash mismatch")
	})
	t.Run("user verification missing", func(t *testing.T) {
		a.UV = false
		defer func() { a.UV = true }()
		_, err := f.login(t, a)
		wantRefused(t, err, "an assertion without UV", "User verification required")
	})
	t.Run("another user's handle", func(t *testing.T) {
		saved := a.UserHandle
		a.UserHandle = []byte(f.newUser(t).ID)
		defer func() { a.UserHandle = saved }()
		_, err := f.login(t, a)
		wantRefused(t, err, "a user handle that is not the owner", "not the passkey's owner")
	})
	t.Run("replayed challenge", func(t *testing.T) {
		id, opts, err := f.svc.BeginLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cred := a.Get(t, opts)
		if _, err := f.svc.FinishLogin(ctx, id, cred); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.FinishLogin(ctx, id, cred)
		wantRefused(t, err, "the same assertion again", "spent")
		_, err = f.svc.FinishLogin(ctx, id, a.Get(t, opts))
		wantRefused(t, err, "a new assertion on a spent challenge", "spent")
	})
	t.Run("a refused finish spends the challenge", func(t *testing.T) {
		id, opts, _ := f.svc.BeginLogin(ctx)
		a.Origin = "https://evil.example.net"
		_, err := f.svc.FinishLogin(ctx, id, a.Get(t, opts))
		a.Origin = origin
		wantRefused(t, err, "wrong origin", "origin")
		_, err = f.svc.FinishLogin(ctx, id, a.Get(t, opts))
		wantRefused(t, err, "the challenge after a refusal", "spent")
	})
	t.Run("concurrent finishes of one challenge", func(t *testing.T) {
		id, opts, _ := f.svc.BeginLogin(ctx)
		creds := make([]json.RawMessage, 6)
		for i := range creds {
			creds[i] = a.Get(t, opts)
		}
		errs := make([]error, len(creds))
		var wg sync.WaitGroup
		for i := range creds {
			wg.Go(func() { _, errs[i] = f.svc.FinishLogin(ctx, id, creds[i]) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !core.IsCode(err, core.EPasskeyRefused) {
				t.Fatal(err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d logins on one challenge, want 1", ok)
		}
	})
	t.Run("expired challenge", func(t *testing.T) {
		id, opts, _ := f.svc.BeginLogin(ctx)
		f.clock.Advance(passkey.ChallengeTTL)
		_, err := f.svc.FinishLogin(ctx, id, a.Get(t, opts))
		wantRefused(t, err, "an expired challenge", "expired")
	})
	t.Run("unknown challenge", func(t *testing.T) {
		_, opts, _ := f.svc.BeginLogin(ctx)
		_, err := f.svc.FinishLogin(ctx, "no-such-challenge", a.Get(t, opts))
		wantRefused(t, err, "an unknown challenge", "unknown")
	})
	t.Run("malformed credential", func(t *testing.T) {
		id, _, _ := f.svc.BeginLogin(ctx)
		_, err := f.svc.FinishLogin(ctx, id, json.RawMessage(`{"id":"x"}`))
		wantRefused(t, err, "a malformed credential", "base64url")
	})
	t.Run("counter regression", func(t *testing.T) {
		if _, err := f.login(t, a); err != nil {
			t.Fatal(err)
		}
		before := len(f.audit.Of(core.EventPasskeyCounter))
		a.Step = 0 // the same count again
		_, err := f.login(t, a)
		wantRefused(t, err, "an equal counter", "sign counter")
		a.Counter -= 3 // a lower one
		a.Step = 1
		_, err = f.login(t, a)
		wantRefused(t, err, "a lower counter", "sign counter")
		if n := len(f.audit.Of(core.EventPasskeyCounter)) - before; n != 2 {
			t.Fatalf("%d counter events, want 2", n)
		}
		a.Counter += 10
		if _, err := f.login(t, a); err != nil {
			t.Fatalf("a higher counter afterwards: %v", err)
		}
	})
}

func TestPasskeySyncedCounterStaysZero(t *testing.T) {
	f := newFixture(t, origin)
	a := passkeytest.New(t, rpID, origin)
	a.Step, a.BE, a.BS = 0, true, false
	p := f.register(t, a, f.user.ID)
	if !p.BackupEligible || p.BackupState {
		t.Fatalf("passkey %+v", p)
	}
	for range 2 {
		if _, err := f.login(t, a); err != nil {
			t.Fatalf("a counter of 0 staying 0: %v", err)
		}
	}
	if got := f.issued.amrs[0]; !slices.Equal(got, []string{"swk", "user", "mfa"}) {
		t.Fatalf("amr %v", got)
	}
	// Backed up since: allowed, and recorded.
	a.BS = true
	if _, err := f.login(t, a); err != nil {
		t.Fatal(err)
	}
	if ev := f.audit.Of(core.EventPasskeyBackupChange); len(ev) != 1 {
		t.Fatalf("backup change events %+v", ev)
	}
	// A counter that starts moving after 0 is fine too.
	a.Step = 1
	if _, err := f.login(t, a); err != nil {
		t.Fatal(err)
	}
}

func TestPasskeyRegistrationRefusals(t *testing.T) {
	f := newFixture(t, origin)
	ctx := context.Background()
	begin := func(userID string) (string, *protocol.PublicKeyCredentialCreationOptions, *passkeytest.Authenticator) {
		id, opts, err := f.svc.BeginRegistration(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return id, opts, passkeytest.New(t, rpID, origin)
	}
	finish := func(userID, id string, cred json.RawMessage) error {
		_, err := f.svc.FinishRegistration(ctx, userID, passkey.Registration{ID: id, Credential: cred})
		return err
	}

	id, opts, a := begin(f.user.ID)
	a.UV = false
	wantRefused(t, finish(f.user.ID, id, a.Create(t, opts)), "registration without UV", "User verification required")

	id, opts, a = begin(f.user.ID)
	a.Origin = "https://evil.example.net"
	wantRefused(t, finish(f.user.ID, id, a.Create(t, opts)), "registration from a wrong origin", "origin")

	id, opts, a = begin(f.user.ID)
	a.RPID = "example.org"
	wantRefused(t, finish(f.user.ID, id, a.Create(t, opts)), "registration for a wrong RP ID", "RP Hash mismatch")

	// Another user cannot finish this user's registration, and it is spent then.
	id, opts, a = begin(f.user.ID)
	cred := a.Create(t, opts)
	wantRefused(t, finish(f.newUser(t).ID, id, cred), "another user's registration", "another user")
	wantRefused(t, finish(f.user.ID, id, cred), "a spent registration", "spent")

	// A credential registered once cannot be registered again, by anyone.
	id, opts, a = begin(f.user.ID)
	if err := finish(f.user.ID, id, a.Create(t, opts)); err != nil {
		t.Fatal(err)
	}
	other := f.newUser(t)
	id, opts, _ = begin(other.ID)
	wantRefused(t, finish(other.ID, id, a.Create(t, opts)), "a credential that is taken", "already registered")
	if n := len(f.audit.Of(core.EventPasskeyAdded)); n != 1 {
		t.Fatalf("%d passkeys added, want 1", n)
	}
	// The options exclude the user's passkeys.
	_, opts, _ = begin(f.user.ID)
	if len(opts.CredentialExcludeList) != 1 {
		t.Fatalf("exclude list %+v", opts.CredentialExcludeList)
	}
}

func TestPasskeysOffOnAnIPAddress(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	if f.svc.Enabled() {
		t.Fatal("passkeys on with an IP address as RP ID")
	}
	ctx := context.Background()
	if _, _, err := f.svc.BeginLogin(ctx); !core.IsCode(err, core.EPasskeysUnavailable) {
		t.Fatalf("BeginLogin: %v", err)
	}
	if _, _, err := f.svc.BeginRegistration(ctx, f.user.ID); !core.IsCode(err, core.EPasskeysUnavailable) {
		t.Fatalf("BeginRegistration: %v", err)
	}
	if _, err := f.svc.FinishLogin(ctx, "x", nil); !core.IsCode(err, core.EPasskeysUnavailable) {
		t.Fatalf("FinishLogin: %v", err)
	}
}

// Refused logins take their place in the client's limit before they are
// verified; an accepted one gives its place back.
func TestPasskeyFailureLimit(t *testing.T) {
	f := newFixture(t, origin)
	f.svc.Limits.FailuresPerIP = 2
	ctx := context.Background()
	a := passkeytest.New(t, rpID, origin)
	f.register(t, a, f.user.ID)
	for range 3 {
		if _, err := f.login(t, a); err != nil {
			t.Fatalf("accepted logins must not count: %v", err)
		}
	}
	a.Origin = "https://evil.example.net"
	for range 2 {
		_, err := f.login(t, a)
		wantRefused(t, err, "a wrong origin", "origin")
	}
	a.Origin = origin
	id, opts, err := f.svc.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(ctx, id, a.Get(t, opts)); !core.IsCode(err, core.ERateLimited) {
		t.Fatalf("a login past the limit: %v", err)
	}
	f.clock.Advance(f.svc.Limits.FailureWindow)
	if _, err := f.login(t, a); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestPasskeyRegistrationLimit(t *testing.T) {
	f := newFixture(t, origin)
	f.svc.Limits.RegistrationsPerHour = 2
	ctx := context.Background()
	for range 2 {
		if _, _, err := f.svc.BeginRegistration(ctx, f.user.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.svc.BeginRegistration(ctx, f.user.ID); !core.IsCode(err, core.ERateLimited) {
		t.Fatalf("a third registration in the hour: %v", err)
	}
	if _, _, err := f.svc.BeginRegistration(ctx, f.newUser(t).ID); err != nil {
		t.Fatalf("another user's: %v", err)
	}
}

// downStore is a passkey store whose database is down for lookups.
type downStore struct{ core.PasskeyStore }

func (downStore) PasskeyByCredentialID(context.Context, []byte) (*core.Passkey, error) {
	return nil, core.Unavailable("the database", errors.New("connection refused"))
}

// A database outage is answered as one (503), not as a refusal that would
// send the user to the password for nothing.
func TestPasskeyLoginStoreOutage(t *testing.T) {
	f := newFixture(t, origin)
	a := passkeytest.New(t, rpID, origin)
	f.register(t, a, f.user.ID)
	f.svc.Passkeys = downStore{f.db}
	if _, err := f.login(t, a); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("login with the database down: %v", err)
	}
}
