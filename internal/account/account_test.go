package account_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/audittest"
	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/otp"
	"github.com/approvald/approvald/internal/phone"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

var t0 = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

// plainHasher stands in for Argon2id: these tests are about SMS.
type plainHasher struct{}

func (plainHasher) Hash(_ context.Context, pw string) (string, error) { return "plain$" + pw, nil }
func (plainHasher) Verify(_ context.Context, pw, enc string) (bool, bool, error) {
	return enc == "plain$"+pw, false, nil
}
func (plainHasher) Dummy(context.Context, string) error { return nil }

type fixture struct {
	clock *clocktest.Clock
	sms   *sentTexts
	audit *audittest.Log
}

func newFixture() *fixture {
	return &fixture{clock: clocktest.New(t0), sms: &sentTexts{}, audit: &audittest.Log{}}
}

// sentTexts is the account's Texts, keeping what it is asked to send; a
// number policy refuses what it refuses. (Package texts tests what the
// real one makes of it.)
type sentTexts struct {
	policy  *phone.SMSPolicy
	mu      sync.Mutex
	codes   map[string][]core.CodeText
	notices map[string][]string // texts, by phone
}

func (s *sentTexts) Textable(e164 string) error { return s.policy.Check(e164) }

func (s *sentTexts) SendCode(_ context.Context, c core.CodeText) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string][]core.CodeText{}
	}
	s.codes[c.Phone] = append(s.codes[c.Phone], c)
	return nil
}

func (s *sentTexts) Notify(_ context.Context, phone, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notices == nil {
		s.notices = map[string][]string{}
	}
	s.notices[phone] = append(s.notices[phone], text)
}

// noticesTo is every notice sent to phone, oldest first.
func (s *sentTexts) noticesTo(phone string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notices[phone])
}

// count is how many codes were sent to phone.
func (s *sentTexts) count(phone string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.codes[phone])
}

// total is every code and notice sent.
func (s *sentTexts) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, texts := range s.notices {
		n += len(texts)
	}
	for _, c := range s.codes {
		n += len(c)
	}
	return n
}

// last is the last code sent to phone.
func (s *sentTexts) last(t *testing.T, phone string) core.CodeText {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := s.codes[phone]
	if len(sent) == 0 {
		t.Fatalf("no code was sent to %s", phone)
	}
	return sent[len(sent)-1]
}

func (s *sentTexts) lastCode(t *testing.T, phone string) string {
	t.Helper()
	return s.last(t, phone).Code
}

// newService is a fixture and its account service on a fresh database of
// dialect, with the limiter of kind (keys of their own on Redis), texting
// every number.
func newService(t *testing.T, dialect string, kind ephemeraltest.Kind) (*fixture, *account.Service, *store.DB) {
	t.Helper()
	f := newFixture()
	eph := ephemeraltest.Open(t, kind, f.clock, "test:"+core.NewSecret(8)+":")
	svc, db := f.service(t, dialect, eph, nil)
	return f, svc, db
}

// service is an account service on a fresh database of dialect and eph,
// texting numbers that policy allows (every number when nil).
func (f *fixture) service(t *testing.T, dialect string, eph ephemeraltest.Store, policy *phone.SMSPolicy) (*account.Service, *store.DB) {
	t.Helper()
	f.sms.policy = policy
	url := "sqlite:" + t.TempDir() + "/db"
	if dialect == "postgres" {
		url = testenv.PostgresURL(t)
	}
	db, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc, err := account.New(account.Deps{
		Users: db, Devices: db, Hasher: plainHasher{}, Codes: otp.NewCodeHasher(core.RandomBytes(32)), Texts: f.sms,
		KV: eph, Limiter: eph, Audit: f.audit, LoginAudit: f.audit, Limits: account.DefaultLimits(), Clock: f.clock,
		Log: slog.New(slog.DiscardHandler), CodeTTL: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, db
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func forEachStore(t *testing.T, f func(t *testing.T, dialect string, kind ephemeraltest.Kind)) {
	for _, c := range []struct {
		dialect string
		kind    ephemeraltest.Kind
	}{{"sqlite", ephemeraltest.InProcess}, {"postgres", ephemeraltest.OnRedis}} {
		t.Run(c.dialect, func(t *testing.T) {
			t.Parallel()
			f(t, c.dialect, c.kind)
		})
	}
}
