package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func newPasskey(userID string, credID string) *core.Passkey {
	return &core.Passkey{
		ID: core.NewID(core.PrefixPasskey), UserID: userID, CredentialID: []byte(credID),
		PublicKey: []byte("cose-key-" + credID), AAGUID: make([]byte, 16), SignCount: 3,
		BackupEligible: true, BackupState: false, Name: "Laptop", CreatedAt: t0,
	}
}

func TestPasskeyRoundTripAndUse(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		p := newPasskey(u.ID, "cred-1")
		must(t, db.CreatePasskey(ctx, p))
		got, err := db.PasskeyByCredentialID(ctx, []byte("cred-1"))
		must(t, err)
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("PasskeyByCredentialID = %+v, want %+v", got, p)
		}
		_, err = db.PasskeyByCredentialID(ctx, []byte("cred-missing"))
		wantCode(t, err, core.ENotFound)

		// The same credential for another user is refused.
		other := verifiedUser(t, db, "other@example.com")
		wantCode(t, db.CreatePasskey(ctx, newPasskey(other.ID, "cred-1")), core.EKeyTaken)

		// A use moves the count, once per old count.
		at := t0.Add(time.Hour)
		must(t, db.UsePasskey(ctx, core.PasskeyUse{ID: p.ID, OldSignCount: 3, SignCount: 7, BackupState: true, At: at}))
		wantCode(t, db.UsePasskey(ctx, core.PasskeyUse{ID: p.ID, OldSignCount: 3, SignCount: 8, At: at}), core.ENotFound)
		got, _ = db.PasskeyByCredentialID(ctx, []byte("cred-1"))
		if got.SignCount != 7 || !got.BackupState || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
			t.Fatalf("after use: %+v", got)
		}

		// Concurrent uses against one count: one wins.
		const n = 8
		errs := make([]error, n)
		concurrently(n, func(i int) {
			errs[i] = db.UsePasskey(ctx, core.PasskeyUse{ID: p.ID, OldSignCount: 7, SignCount: uint32(8 + i), At: at})
		})
		if ok := countNil(t, errs, core.ENotFound); ok != 1 {
			t.Fatalf("%d uses succeeded, want 1", ok)
		}

		// Listing and removing are by user.
		p2 := newPasskey(u.ID, "cred-2")
		p2.CreatedAt = t0.Add(time.Minute)
		must(t, db.CreatePasskey(ctx, p2))
		list, err := db.PasskeysByUser(ctx, u.ID)
		must(t, err)
		if len(list) != 2 || list[0].ID != p.ID || list[1].ID != p2.ID {
			t.Fatalf("PasskeysByUser = %+v", list)
		}
		wantCode(t, db.DeletePasskey(ctx, other.ID, p.ID), core.ENotFound)
		must(t, db.DeletePasskey(ctx, u.ID, p.ID))
		wantCode(t, db.DeletePasskey(ctx, u.ID, p.ID), core.ENotFound)
		if _, err := db.PasskeyByCredentialID(ctx, []byte("cred-1")); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("removed passkey still found: %v", err)
		}
	})
}

func TestPasskeyLimitUnderConcurrency(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		for i := range core.MaxPasskeys - 2 {
			must(t, db.CreatePasskey(ctx, newPasskey(u.ID, fmt.Sprint("pre-", i))))
		}
		const n = 6
		errs := make([]error, n)
		concurrently(n, func(i int) { errs[i] = db.CreatePasskey(ctx, newPasskey(u.ID, fmt.Sprint("race-", i))) })
		if ok := countNil(t, errs, core.ETooManyDevices); ok != 2 {
			t.Fatalf("%d registrations succeeded, want 2", ok)
		}
	})
}
