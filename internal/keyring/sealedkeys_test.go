package keyring

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// openKeyDB is a real (SQLite) database for the keys.
func openKeyDB(t *testing.T) *store.DB {
	t.Helper()
	return openKeyDBOf(t, store.DialectSQLite)
}

// openKeyDBOf is a fresh database of dialect: SQLite in t.TempDir(), or
// PostgreSQL from testenv (skipped without one).
func openKeyDBOf(t *testing.T, dialect string) *store.DB {
	t.Helper()
	url := "sqlite:" + t.TempDir() + "/keys.db"
	if dialect == store.DialectPostgres {
		url = testenv.PostgresURL(t)
	}
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newBox(t *testing.T, primary []byte, older ...[]byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(primary, older...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storedKey is the private key of kid as the database holds it.
func storedKey(t *testing.T, db *store.DB, purpose core.KeyPurpose, kid string) []byte {
	t.Helper()
	keys, err := db.Keys(context.Background(), purpose)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.KID == kid {
			return k.PrivateKey
		}
	}
	t.Fatalf("no stored key %s", kid)
	return nil
}

func TestSealedKeysAreNotStoredInTheClear(t *testing.T) {
	ctx, db, clock := context.Background(), openKeyDB(t), newFakeClock()
	box := newBox(t, core.RandomBytes(32))
	ring, err := Load(ctx, SealedKeys{Store: db, Box: box}, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	kid, private := ring.Active()
	stored := storedKey(t, db, core.KeyJWT, kid)
	if len(stored) == ed25519.PrivateKeySize || bytes.Contains(stored, private.Seed()) {
		t.Fatalf("the private key is stored in the clear (%d bytes)", len(stored))
	}
	if _, err := Load(ctx, SealedKeys{Store: db, Box: newBox(t, core.RandomBytes(32))}, core.KeyJWT, clock); err == nil {
		t.Fatal("another SECRET_KEY opened the stored key")
	}
	// Another instance with the same SECRET_KEY signs with the same key.
	again, err := Load(ctx, SealedKeys{Store: db, Box: box}, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	if kid2, private2 := again.Active(); kid2 != kid || !private2.Equal(private) {
		t.Fatal("a second load did not yield the same key")
	}
}

func TestSealedKeysSealKeysStoredInTheClear(t *testing.T) {
	ctx, db, clock := context.Background(), openKeyDB(t), newFakeClock()
	legacy, err := GenerateKey(core.KeyPush, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertKeyIfNone(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	box := newBox(t, core.RandomBytes(32))
	ring, err := Load(ctx, SealedKeys{Store: db, Box: box}, core.KeyPush, clock)
	if err != nil {
		t.Fatal(err)
	}
	if kid, private := ring.Active(); kid != legacy.KID || !bytes.Equal(private, legacy.PrivateKey) {
		t.Fatal("the key stored in the clear is not the one that signs")
	}
	stored := storedKey(t, db, core.KeyPush, legacy.KID)
	opened, err := box.Open(stored, keyAAD(legacy))
	if err != nil || !bytes.Equal(opened, legacy.PrivateKey) {
		t.Fatalf("the key was not sealed in place (%d bytes stored): %v", len(stored), err)
	}
}

func TestSealedKeysFollowASecretKeyRotation(t *testing.T) {
	ctx, db, clock := context.Background(), openKeyDB(t), newFakeClock()
	oldSecret, newSecret := core.RandomBytes(32), core.RandomBytes(32)
	ring, err := Load(ctx, SealedKeys{Store: db, Box: newBox(t, oldSecret)}, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	kid, private := ring.Active()

	// Without the old secret among the previous ones, nothing opens.
	if _, err := Load(ctx, SealedKeys{Store: db, Box: newBox(t, newSecret)}, core.KeyJWT, clock); !core.IsCode(err, core.EInternal) {
		t.Fatalf("load with an unknown SECRET_KEY: %v; want an internal error", err)
	}
	rotated := newBox(t, newSecret, oldSecret)
	ring, err = Load(ctx, SealedKeys{Store: db, Box: rotated}, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	if kid2, private2 := ring.Active(); kid2 != kid || !private2.Equal(private) {
		t.Fatal("after the rotation another key signs")
	}
	if !rotated.SealedWithPrimary(storedKey(t, db, core.KeyJWT, kid)) {
		t.Fatal("the key was not sealed anew under the new SECRET_KEY")
	}
	// Now the new secret alone opens it.
	if _, err := Load(ctx, SealedKeys{Store: db, Box: newBox(t, newSecret)}, core.KeyJWT, clock); err != nil {
		t.Fatalf("load with the new SECRET_KEY alone: %v", err)
	}
}

func TestSealedKeyCopiedToAnotherRowDoesNotOpen(t *testing.T) {
	ctx, db, clock := context.Background(), openKeyDB(t), newFakeClock()
	box := newBox(t, core.RandomBytes(32))
	keys := SealedKeys{Store: db, Box: box}
	jwt, err := Load(ctx, keys, core.KeyJWT, clock)
	if err != nil {
		t.Fatal(err)
	}
	push, err := Load(ctx, keys, core.KeyPush, clock)
	if err != nil {
		t.Fatal(err)
	}
	jwtKID, _ := jwt.Active()
	pushKID, _ := push.Active()
	pushStored := storedKey(t, db, core.KeyPush, pushKID)
	if err := db.ReplacePrivateKey(ctx, jwtKID, storedKey(t, db, core.KeyJWT, jwtKID), pushStored); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, keys, core.KeyJWT, clock); err == nil {
		t.Fatal("the push key's sealed value opened as the token key")
	}
}
