package sso_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/session"
	"github.com/approvald/approvald/internal/sso"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// start is on a whole second: the cookie counts its age in seconds.
var start = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// idle is the sessions' idle limit here, shorter than the cookie's TTL so a
// session can go idle while its cookie is still fresh.
const idle = 6 * time.Hour

type fixture struct {
	cookies *sso.Cookies
	tokens  *session.Service
	db      *store.DB
	clock   *clocktest.Clock
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// newFixture is a cookie maker on approvald's real session service, its
// sessions in a migrated SQLite database.
func newFixture(t *testing.T, cfg sso.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := clocktest.New(start)
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/sso.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Load(ctx, db, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := session.NewService(session.Config{Issuer: "https://login.example.com", RefreshIdle: idle}, keys, db, clock)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Key == nil {
		cfg.Key = testKey('k')
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "https://login.example.com"
	}
	c, err := sso.New(cfg, tokens, clock)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{cookies: c, tokens: tokens, db: db, clock: clock}
}

// login starts an approvald session of a new user and returns its id.
func (f *fixture) login(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	phone := testenv.RandomPhone()
	u := &core.User{
		ID: core.NewID(core.PrefixUser), Name: "Ada", Phone: phone,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: start, UpdatedAt: start,
	}
	v := &core.Verification{
		ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: phone, CodeHash: "h",
		Status: core.VerificationPending, ExpiresAt: start.Add(time.Hour), LastSentAt: start, CreatedAt: start,
	}
	if err := f.db.CreateSignup(ctx, u, v); err != nil {
		t.Fatal(err)
	}
	pair, err := f.tokens.Issue(ctx, u.ID, []string{"pwd", core.MethodPush}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return pair.SessionID
}

func wantUnauthorized(t *testing.T, s *core.Session, err error) {
	t.Helper()
	if s != nil || !core.IsCode(err, core.EUnauthorized) {
		t.Fatalf("Session = %+v, %v; want nil and %s", s, err, core.EUnauthorized)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	f := newFixture(t, sso.Config{})
	clock := clocktest.New(start)
	for name, tc := range map[string]struct {
		cfg      sso.Config
		sessions sso.Sessions
		clock    core.Clock
	}{
		"short key":   {sso.Config{Key: testKey('k')[:31]}, f.tokens, clock},
		"no sessions": {sso.Config{Key: testKey('k')}, nil, clock},
		"no clock":    {sso.Config{Key: testKey('k')}, f.tokens, nil},
		"negative":    {sso.Config{Key: testKey('k'), TTL: -time.Second}, f.tokens, clock},
	} {
		if c, err := sso.New(tc.cfg, tc.sessions, tc.clock); err == nil || c != nil {
			t.Errorf("%s: New = %v, %v; want an error", name, c, err)
		}
	}
	c, err := sso.New(sso.Config{Key: testKey('k')}, f.tokens, clock)
	if err != nil {
		t.Fatal(err)
	}
	if c.TTL() != sso.DefaultTTL {
		t.Fatalf("TTL = %v, want the default %v", c.TTL(), sso.DefaultTTL)
	}
}

func TestValueRoundTrip(t *testing.T) {
	f := newFixture(t, sso.Config{})
	sid := f.login(t)
	value := f.cookies.Value(sid)
	want := "v1." + sid + "." + strconv.FormatInt(start.Unix(), 10) + "."
	if !strings.HasPrefix(value, want) || strings.Count(value, ".") != 3 {
		t.Fatalf("Value = %q, want v1.<sid>.<unix>.<mac> starting %q", value, want)
	}
	s, err := f.cookies.Session(context.Background(), value)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != sid {
		t.Fatalf("Session = %s, want %s", s.ID, sid)
	}
}

// A value opens only under the key that made it: another deployment's (or
// a rotated SECRET_KEY's) cookie is refused.
func TestValueOpensOnlyWithItsKey(t *testing.T) {
	f := newFixture(t, sso.Config{})
	sid := f.login(t)
	other, err := sso.New(sso.Config{Key: testKey('o'), PublicURL: "https://login.example.com"}, f.tokens, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	s, err := other.Session(context.Background(), f.cookies.Value(sid))
	wantUnauthorized(t, s, err)
	if _, err := f.cookies.Session(context.Background(), other.Value(sid)); !core.IsCode(err, core.EUnauthorized) {
		t.Fatalf("the other key's value opened: %v", err)
	}
}

func TestTamperedValueFails(t *testing.T) {
	f := newFixture(t, sso.Config{})
	sid, victim := f.login(t), f.login(t)
	value := f.cookies.Value(sid)
	parts := strings.Split(value, ".")
	join := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, ".")
	}
	flip := func(s string) string { // change the last character
		last := s[len(s)-1]
		c := byte('A')
		if last == 'A' {
			c = 'B'
		}
		return s[:len(s)-1] + string(c)
	}
	for name, v := range map[string]string{
		"version":      join(0, "v2"),
		"session":      join(1, victim),
		"session char": join(1, flip(parts[1])),
		"time earlier": join(2, strconv.FormatInt(start.Unix()-1, 10)),
		"time later":   join(2, strconv.FormatInt(start.Unix()+3600, 10)),
		"mac":          join(3, flip(parts[3])),
		"mac cut":      join(3, parts[3][:len(parts[3])-1]),
		"mac empty":    join(3, ""),
		"mac longer":   value + "A",
		"padded mac":   value + "=",
		"extra field":  value + ".x",
		"upper case":   strings.ToUpper(value),
	} {
		s, err := f.cookies.Session(context.Background(), v)
		if s != nil || !core.IsCode(err, core.EUnauthorized) {
			t.Errorf("%s: %q opened (%+v, %v)", name, v, s, err)
		}
	}
	// The genuine value still works: nothing above changed state.
	if _, err := f.cookies.Session(context.Background(), value); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedValues(t *testing.T) {
	f := newFixture(t, sso.Config{})
	sid := f.login(t)
	for _, v := range []string{
		"", ".", "...", "v1", "v1.", "v1..", "v1...", sid, "v1." + sid,
		"v1." + sid + "." + strconv.FormatInt(start.Unix(), 10),
		"x1." + sid + ".1.mac", "v1.a.b.c.d", "\x00", strings.Repeat("v1.", 1000),
	} {
		s, err := f.cookies.Session(context.Background(), v)
		if s != nil || !core.IsCode(err, core.EUnauthorized) {
			t.Errorf("%q: Session = %+v, %v; want %s", v, s, err, core.EUnauthorized)
		}
	}
}

// A value is honoured until, not at, its TTL after it was made.
func TestTTLBoundary(t *testing.T) {
	const ttl = time.Hour
	f := newFixture(t, sso.Config{TTL: ttl})
	sid := f.login(t)
	value := f.cookies.Value(sid)
	ctx := context.Background()

	f.clock.Advance(ttl - time.Nanosecond)
	if s, err := f.cookies.Session(ctx, value); err != nil || s.ID != sid {
		t.Fatalf("just before the TTL: %+v, %v; want the session", s, err)
	}
	f.clock.Advance(time.Nanosecond)
	s, err := f.cookies.Session(ctx, value)
	wantUnauthorized(t, s, err)

	// The session itself is still active: a value made now opens it.
	if s, err := f.cookies.Session(ctx, f.cookies.Value(sid)); err != nil || s.ID != sid {
		t.Fatalf("a fresh value of the active session: %+v, %v", s, err)
	}
	f.clock.Advance(ttl / 2)
	s, err = f.cookies.Session(ctx, value)
	wantUnauthorized(t, s, err)
}

// The cookie counts whole seconds: one made at 12:00:00.9 is as old as one
// made at 12:00:00, never younger than it is.
func TestTTLCountsFromTheSecond(t *testing.T) {
	const ttl = time.Hour
	f := newFixture(t, sso.Config{TTL: ttl})
	sid := f.login(t)
	f.clock.Advance(900 * time.Millisecond)
	value := f.cookies.Value(sid)
	f.clock.Set(start.Add(ttl - time.Nanosecond))
	if _, err := f.cookies.Session(context.Background(), value); err != nil {
		t.Fatalf("just before the TTL: %v", err)
	}
	f.clock.Set(start.Add(ttl))
	s, err := f.cookies.Session(context.Background(), value)
	wantUnauthorized(t, s, err)
}

// The session is the authority: a genuine, fresh value of a revoked or
// idle session opens nothing.
func TestEndedSessionFails(t *testing.T) {
	ctx := context.Background()
	t.Run("revoked", func(t *testing.T) {
		f := newFixture(t, sso.Config{})
		sid, other := f.login(t), f.login(t)
		value, otherValue := f.cookies.Value(sid), f.cookies.Value(other)
		if err := f.tokens.Logout(ctx, sid); err != nil {
			t.Fatal(err)
		}
		s, err := f.cookies.Session(ctx, value)
		wantUnauthorized(t, s, err)
		if s, err := f.cookies.Session(ctx, otherValue); err != nil || s.ID != other {
			t.Fatalf("another session's cookie: %+v, %v", s, err)
		}
	})
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t, sso.Config{TTL: 12 * time.Hour})
		sid := f.login(t)
		f.clock.Advance(idle - time.Nanosecond)
		value := f.cookies.Value(sid) // fresh cookie, session about to go idle
		if _, err := f.cookies.Session(ctx, value); err != nil {
			t.Fatalf("just before the idle limit: %v", err)
		}
		f.clock.Advance(time.Nanosecond)
		s, err := f.cookies.Session(ctx, value)
		wantUnauthorized(t, s, err)
	})
	t.Run("unknown", func(t *testing.T) {
		f := newFixture(t, sso.Config{})
		for _, sid := range []string{core.NewID(core.PrefixSession), core.NewID(core.PrefixUser), "x"} {
			s, err := f.cookies.Session(ctx, f.cookies.Value(sid))
			wantUnauthorized(t, s, err)
		}
	})
}

func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        sso.Config
		wantDomain string
	}{
		{"host only, https", sso.Config{Secure: true}, ""},
		{"host only, http", sso.Config{Secure: false, PublicURL: "http://localhost:8080"}, ""},
		{"domain", sso.Config{Secure: true, Domain: "example.com"}, "example.com"},
		{"domain with dot and capitals", sso.Config{Secure: true, Domain: ".Example.COM"}, "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.TTL = 2 * time.Hour
			f := newFixture(t, tc.cfg)
			sid := f.login(t)
			if got := f.cookies.Domain(); got != tc.wantDomain {
				t.Fatalf("Domain() = %q, want %q", got, tc.wantDomain)
			}
			c := f.cookies.Cookie(sid)
			if c.Name != sso.CookieName || c.Path != "/" || c.Domain != tc.wantDomain ||
				!c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.cfg.Secure ||
				c.MaxAge != 7200 {
				t.Fatalf("Cookie = %+v", c)
			}
			if s, err := f.cookies.Session(context.Background(), c.Value); err != nil || s.ID != sid {
				t.Fatalf("the cookie's value: %+v, %v", s, err)
			}
			header := c.String()
			for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=7200"} {
				if !strings.Contains(header, attr) {
					t.Errorf("Set-Cookie %q lacks %s", header, attr)
				}
			}
			if strings.Contains(header, "Secure") != tc.cfg.Secure {
				t.Errorf("Set-Cookie %q: Secure should be %v", header, tc.cfg.Secure)
			}
			if hasDomain := strings.Contains(header, "Domain="); hasDomain != (tc.wantDomain != "") ||
				(hasDomain && !strings.Contains(header, "Domain="+tc.wantDomain)) {
				t.Errorf("Set-Cookie %q: want domain %q", header, tc.wantDomain)
			}

			clear := f.cookies.Clear()
			if clear.Name != sso.CookieName || clear.Value != "" || clear.MaxAge != -1 || clear.Path != "/" ||
				clear.Domain != tc.wantDomain || !clear.HttpOnly || clear.Secure != tc.cfg.Secure ||
				clear.SameSite != http.SameSiteLaxMode {
				t.Fatalf("Clear = %+v; want the same cookie, emptied and expired", clear)
			}
			if !strings.Contains(clear.String(), "Max-Age=0") {
				t.Errorf("Clear header %q does not expire the cookie", clear.String())
			}
		})
	}
}
