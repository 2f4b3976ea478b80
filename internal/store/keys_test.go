package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func newKey(purpose core.KeyPurpose, createdAt time.Time) *core.SigningKey {
	return &core.SigningKey{
		KID:        core.NewSecret(12),
		Purpose:    purpose,
		PrivateKey: core.RandomBytes(64),
		CreatedAt:  createdAt,
	}
}

// Instances starting together each try to insert their own key; all end up
// with the same one.
func TestInsertKeyIfNoneRace(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		const n = 8
		got := make([]*core.SigningKey, n)
		errs := make([]error, n)
		concurrently(n, func(i int) { got[i], errs[i] = db.InsertKeyIfNone(ctx, newKey(core.KeyJWT, t0)) })
		for i := range n {
			must(t, errs[i])
			if got[i].KID != got[0].KID || !bytes.Equal(got[i].PrivateKey, got[0].PrivateKey) {
				t.Fatalf("caller %d got key %s, caller 0 got %s", i, got[i].KID, got[0].KID)
			}
		}
		keys, err := db.Keys(ctx, core.KeyJWT)
		must(t, err)
		if len(keys) != 1 || keys[0].KID != got[0].KID {
			t.Fatalf("stored keys %v, want exactly %s", keys, got[0].KID)
		}
	})
}

func TestKeysNewestFirstPerPurpose(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		retired := newKey(core.KeyJWT, t0)
		retired.RetiredAt = ptr(t0.Add(time.Hour))
		_, err := db.bun.NewInsert().Model(&signingKeyRow{
			KID: retired.KID, Purpose: retired.Purpose, PrivateKey: retired.PrivateKey,
			CreatedAt: ts(retired.CreatedAt), RetiredAt: tsPtr(retired.RetiredAt),
		}).Exec(ctx)
		must(t, err)

		// 1 µs newer must sort first.
		active, err := db.InsertKeyIfNone(ctx, newKey(core.KeyJWT, t0.Add(time.Microsecond)))
		must(t, err)
		push, err := db.InsertKeyIfNone(ctx, newKey(core.KeyPush, t0))
		must(t, err)
		if push.KID == active.KID {
			t.Fatal("purposes share a key")
		}

		keys, err := db.Keys(ctx, core.KeyJWT)
		must(t, err)
		if len(keys) != 2 || keys[0].KID != active.KID || keys[1].KID != retired.KID {
			t.Fatalf("Keys = %s, want [%s %s]", kids(keys), active.KID, retired.KID)
		}
		if keys[1].RetiredAt == nil || !keys[1].RetiredAt.Equal(*retired.RetiredAt) || keys[0].RetiredAt != nil {
			t.Fatalf("RetiredAt: %v, %v", keys[0].RetiredAt, keys[1].RetiredAt)
		}
		if len(keys[0].PrivateKey) != 64 {
			t.Fatalf("private key has %d bytes", len(keys[0].PrivateKey))
		}
	})
}

func kids(keys []*core.SigningKey) string {
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf("%s ", k.KID)
	}
	return s
}

// Two instances sealing one key anew: the first replaces it, the second
// (holding the value as it was) changes nothing.
func TestReplacePrivateKeyOnlyWhileUnchanged(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		k, err := db.InsertKeyIfNone(ctx, newKey(core.KeyPush, t0))
		must(t, err)
		first, second := core.RandomBytes(97), core.RandomBytes(97)
		must(t, db.ReplacePrivateKey(ctx, k.KID, k.PrivateKey, first))
		must(t, db.ReplacePrivateKey(ctx, k.KID, k.PrivateKey, second))
		keys, err := db.Keys(ctx, core.KeyPush)
		must(t, err)
		if len(keys) != 1 || !bytes.Equal(keys[0].PrivateKey, first) {
			t.Fatalf("stored %x; want the first replacement", keys[0].PrivateKey)
		}
	})
}

// RotateKey retires the active key at the new key's activation, in one step
// that keeps one unretired key per purpose.
func TestRotateKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		old, err := db.InsertKeyIfNone(ctx, newKey(core.KeyJWT, t0))
		must(t, err)
		at := t0.Add(time.Hour)
		fresh := newKey(core.KeyJWT, at)
		must(t, db.RotateKey(ctx, fresh))
		keys, err := db.Keys(ctx, core.KeyJWT)
		must(t, err)
		if len(keys) != 2 || keys[0].KID != fresh.KID || keys[0].RetiredAt != nil || keys[1].KID != old.KID ||
			keys[1].RetiredAt == nil || !keys[1].RetiredAt.Equal(at) || !keys[0].CreatedAt.Equal(at) {
			t.Fatalf("after the rotation: %+v, %+v", keys[0], keys[1])
		}
		// The other purpose is untouched; a retired key cannot be rotated in.
		push, err := db.InsertKeyIfNone(ctx, newKey(core.KeyPush, t0))
		must(t, err)
		if keys, _ := db.Keys(ctx, core.KeyPush); len(keys) != 1 || keys[0].KID != push.KID || keys[0].RetiredAt != nil {
			t.Fatalf("push keys: %+v", keys)
		}
		retired := newKey(core.KeyJWT, at)
		retired.RetiredAt = &at
		if err := db.RotateKey(ctx, retired); err == nil {
			t.Fatal("a retired key was rotated in")
		}
	})
}
