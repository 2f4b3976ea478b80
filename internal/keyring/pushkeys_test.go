package keyring_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/secretbox"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// pushKeyStore is a migrated database of dialect, its keys sealed.
func pushKeyStore(t *testing.T, dialect string) keyring.SealedKeys {
	t.Helper()
	ctx := context.Background()
	url := "sqlite:" + t.TempDir() + "/db"
	if dialect == "postgres" {
		url = testenv.PostgresURL(t)
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(core.RandomBytes(secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return keyring.SealedKeys{Store: db, Box: box}
}

// TestPushKeyRotation: a rotated push key is announced at once, signed by
// the key signing now, which keeps signing until the grace ends; then the
// new one signs. A second rotation waits for the first.
func TestPushKeyRotation(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			ks := pushKeyStore(t, dialect)
			clock := clocktest.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
			ring, err := keyring.Load(ctx, ks, core.KeyPush, clock)
			if err != nil {
				t.Fatal(err)
			}
			oldKID, oldKey := ring.Active()
			if ring.Announcement("") != nil {
				t.Fatal("a single key announces something")
			}
			grace := 7 * 24 * time.Hour
			fresh, err := keyring.RotatePushKey(ctx, ks, clock.Now(), grace)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := keyring.RotatePushKey(ctx, ks, clock.Now(), grace); !core.IsCode(err, core.EInvalidRequest) {
				t.Fatalf("a second rotation under way: %v", err)
			}
			if err := ring.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if kid, _ := ring.Active(); kid != oldKID {
				t.Fatalf("the new key signs at once (%s)", kid)
			}
			if kid, from, ok := ring.Pending(); !ok || kid != fresh.KID || !from.Equal(clock.Now().Add(grace)) {
				t.Fatalf("Pending = %s %v %v", kid, from, ok)
			}
			a := ring.Announcement(oldKID)
			if a == nil || a.KID != fresh.KID || ring.NewestKID() != fresh.KID {
				t.Fatalf("announcement %+v", a)
			}
			next, err := a.Verify(oldKey.Public().(ed25519.PublicKey))
			if err != nil || keyring.KeyID(next) != fresh.KID {
				t.Fatalf("the announcement does not verify under the old key: %v", err)
			}
			if ring.Announcement(fresh.KID) != nil {
				t.Fatal("a device that confirmed the new key is still told of it")
			}

			clock.Advance(grace - time.Second)
			if kid, _ := ring.Active(); kid != oldKID {
				t.Fatal("the new key signs before the grace ends")
			}
			clock.Advance(time.Second)
			if kid, _ := ring.Active(); kid != fresh.KID {
				t.Fatalf("after the grace, %s signs", kid)
			}
			if _, _, ok := ring.Pending(); ok {
				t.Fatal("still pending after the grace")
			}
			// Announced still, for a device that missed it.
			if a := ring.Announcement(oldKID); a == nil || a.KID != fresh.KID {
				t.Fatal("no announcement after the switch")
			}
			// And the next rotation may start.
			if _, err := keyring.RotatePushKey(ctx, ks, clock.Now(), grace); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPushKeyActivateEarly: once every device confirmed it, the new key
// signs from the moment given, on this ring and on one loaded afresh.
func TestPushKeyActivateEarly(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			ks := pushKeyStore(t, dialect)
			clock := clocktest.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
			ring, err := keyring.Load(ctx, ks, core.KeyPush, clock)
			if err != nil {
				t.Fatal(err)
			}
			oldKID, _ := ring.Active()
			fresh, err := keyring.RotatePushKey(ctx, ks, clock.Now(), 7*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := ring.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			at := clock.Now().Add(2 * time.Minute)
			if ok, err := ring.ActivateEarly(ctx, at); err != nil || !ok {
				t.Fatalf("ActivateEarly = %v, %v", ok, err)
			}
			if kid, _ := ring.Active(); kid != oldKID {
				t.Fatal("the new key signs before the moment given")
			}
			// Later activations do not move it back.
			if ok, err := ring.ActivateEarly(ctx, at.Add(time.Minute)); err != nil || ok {
				t.Fatalf("a later ActivateEarly = %v, %v", ok, err)
			}
			clock.Advance(2 * time.Minute)
			other, err := keyring.Load(ctx, ks, core.KeyPush, clock)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []*keyring.Ring{ring, other} {
				if kid, _ := r.Active(); kid != fresh.KID {
					t.Fatalf("after the early switch, %s signs", kid)
				}
			}
		})
	}
}
