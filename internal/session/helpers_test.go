package session

import (
	"context"
	"testing"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/store"
)

const testIssuer = "https://login.example.com"

type fixture struct {
	svc   *Service
	store *memStore
	keyDB *store.DB // the signing keys, in a real (SQLite) database
	clock *clocktest.Clock
	keys  *keyring.Ring
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	sessions, clock := newMemStore(), newFakeClock()
	db := openKeyDB(t)
	keys, err := keyring.Load(context.Background(), db, core.KeyJWT, clock)
	if err != nil {
		t.Fatalf("keyring.Load: %v", err)
	}
	svc, err := NewService(Config{Issuer: testIssuer}, keys, sessions, clock)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return &fixture{svc: svc, store: sessions, keyDB: db, clock: clock, keys: keys}
}

// openKeyDB is a migrated SQLite database in a temporary directory.
func openKeyDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+t.TempDir()+"/keys.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// issue starts a session for a new user and returns the user id and pair.
func (f *fixture) issue(t testing.TB, amr ...string) (string, *TokenPair) {
	t.Helper()
	userID := core.NewID(core.PrefixUser)
	pair, err := f.svc.Issue(context.Background(), userID, amr, f.clock.Now())
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return userID, pair
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}
