package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

// Every behaviour runs on both dialects.
var dialects = []string{DialectSQLite, DialectPostgres}

// t0 has a fraction with trailing zeros on purpose: a variable-width time
// format would write it shorter than its neighbours.
var t0 = time.Date(2026, 11, 3, 12, 0, 0, 100_000_000, time.UTC)

// MustOpen returns a migrated *DB of dialect: SQLite on a file in
// t.TempDir(), PostgreSQL on a fresh database (skipped without one).
func MustOpen(t testing.TB, dialect string) *DB {
	t.Helper()
	db := mustOpenURL(t, testURL(t, dialect))
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// testURL returns the URL of a fresh, empty database of dialect.
func testURL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case DialectSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "approvald.db")
	case DialectPostgres:
		return testenv.PostgresURL(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

func mustOpenURL(t testing.TB, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// eachDialect runs fn as a parallel subtest per dialect on a fresh database;
// the calling test runs in parallel with the others.
func eachDialect(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, MustOpen(t, d))
		})
	}
}

// concurrently runs fn(i) for i in [0,n) at once and waits for all.
func concurrently(n int, fn func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn(i)
		}()
	}
	start.Done()
	done.Wait()
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("got error %v, want code %s", err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// newSignup returns an unverified user of phone and its pending
// verification, expiring 10 minutes after t0.
func newSignup(phone, email string) (*core.User, *core.Verification) {
	u := &core.User{
		ID:           core.NewID(core.PrefixUser),
		Name:         "Ada",
		Email:        email,
		Phone:        phone,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt:    t0,
		UpdatedAt:    t0,
	}
	v := &core.Verification{
		ID:         core.NewID(core.PrefixVerification),
		UserID:     u.ID,
		Phone:      phone,
		CodeHash:   "code-hash",
		Status:     core.VerificationPending,
		ExpiresAt:  t0.Add(10 * time.Minute),
		LastSentAt: t0,
		CreatedAt:  t0,
	}
	return u, v
}

// verifiedUser signs up and verifies a user with a random phone.
func verifiedUser(t *testing.T, db *DB, email string) *core.User {
	t.Helper()
	ctx := context.Background()
	u, v := newSignup(testenv.RandomPhone(), email)
	must(t, db.CreateSignup(ctx, u, v))
	got, err := db.CompleteVerification(ctx, v.ID, t0)
	must(t, err)
	return got
}

func newApproval(userID string, channel core.Channel, expiresAt time.Time) *core.Approval {
	return &core.Approval{
		ID:          core.NewID(core.PrefixApproval),
		UserID:      userID,
		Status:      core.ApprovalPending,
		Channel:     channel,
		MatchNumber: 42,
		TicketHash:  "ticket-hash",
		ExpiresAt:   expiresAt,
		IP:          "192.0.2.1",
		UserAgent:   "test",
		CreatedAt:   t0,
	}
}

func newDevice(userID string) *core.Device {
	return &core.Device{
		ID:            core.NewID(core.PrefixDevice),
		UserID:        userID,
		Name:          "phone",
		PublicKey:     core.RandomBytes(32),
		PushURL:       "https://push.example/1",
		TOTPSecretEnc: core.RandomBytes(48),
		CreatedAt:     t0,
	}
}

func TestOpenRejectsUnknownSchemes(t *testing.T) {
	for _, url := range []string{"", "mysql://u@h/db", "approvald.db", "sqlite:", "sqlite:x.db?mode=ro", "sqlite::memory:", "postgres://%zz"} {
		_, err := Open(context.Background(), url)
		if err == nil {
			t.Errorf("Open(%q) succeeded", url)
			continue
		}
		if !strings.Contains(err.Error(), "DATABASE_URL") {
			t.Errorf("Open(%q) = %v, want an error naming DATABASE_URL", url, err)
		}
	}
}

func TestOpenRedactsPassword(t *testing.T) {
	_, err := Open(context.Background(), "mysql://user:hunter2@host/db")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v must not show the password", err)
	}
}

func TestDialectAndPing(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			db := MustOpen(t, d)
			if db.Dialect() != d {
				t.Fatalf("Dialect() = %q, want %q", db.Dialect(), d)
			}
			must(t, db.Ping(context.Background()))
			must(t, db.Close())
			wantCode(t, db.Ping(context.Background()), core.EUnavailable)
		})
	}
}

func TestSQLitePragmas(t *testing.T) {
	db := MustOpen(t, DialectSQLite)
	ctx := context.Background()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
	} {
		var got string
		must(t, db.bun.NewRaw("PRAGMA "+pragma).Scan(ctx, &got))
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

// Many goroutines running transactions at once must all succeed. On SQLite
// this holds only because transactions begin IMMEDIATE: a deferred one that
// reads (CreateDevice counts first) and then writes fails with SQLITE_BUSY
// when another connection wrote in between.
func TestConcurrentTransactions(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		const n = 40
		users := make([]*core.User, n)
		for i := range users {
			users[i] = verifiedUser(t, db, "")
		}
		errs := make([]error, n)
		concurrently(n, func(i int) {
			errs[i] = func() error {
				s := &core.Session{
					ID: core.NewID(core.PrefixSession), UserID: users[i].ID, AMR: []string{"pwd"},
					AuthTime: t0, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
				}
				if err := db.CreateSession(ctx, s, fmt.Sprintf("r%d-0", i)); err != nil {
					return err
				}
				for k := 1; k <= 3; k++ {
					if err := db.CreateDevice(ctx, newDevice(users[i].ID)); err != nil {
						return err
					}
					if _, err := db.RotateRefresh(ctx, fmt.Sprintf("r%d-%d", i, k-1), fmt.Sprintf("r%d-%d", i, k), t0.Add(time.Minute), time.Hour); err != nil {
						return err
					}
				}
				return nil
			}()
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
	})
}
