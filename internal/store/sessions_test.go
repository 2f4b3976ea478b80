package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

const idle = 30 * 24 * time.Hour

func newSession(t *testing.T, db *DB, userID, refreshHash string) *core.Session {
	t.Helper()
	s := &core.Session{
		ID:         core.NewID(core.PrefixSession),
		UserID:     userID,
		AMR:        []string{"pwd", "push"},
		AuthTime:   t0,
		CreatedAt:  t0,
		LastUsedAt: t0,
		ExpiresAt:  t0.Add(90 * 24 * time.Hour),
	}
	must(t, db.CreateSession(context.Background(), s, refreshHash))
	return s
}

func TestSessionRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		u := verifiedUser(t, db, "")
		s := newSession(t, db, u.ID, "r0")
		got, err := db.Session(context.Background(), s.ID)
		must(t, err)
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("Session = %+v, want %+v", got, s)
		}
		_, err = db.Session(context.Background(), "ses_missing")
		wantCode(t, err, core.ENotFound)
	})
}

func TestRotateRefreshAndReuse(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		s := newSession(t, db, u.ID, "r0")
		now := t0.Add(time.Hour)

		got, err := db.RotateRefresh(ctx, "r0", "r1", now, idle)
		must(t, err)
		if got.ID != s.ID || !got.LastUsedAt.Equal(now) {
			t.Fatalf("rotated session = %+v", got)
		}
		stored, _ := db.Session(ctx, s.ID)
		if !stored.LastUsedAt.Equal(now) {
			t.Fatalf("stored LastUsedAt = %v, want %v", stored.LastUsedAt, now)
		}

		_, err = db.RotateRefresh(ctx, "unknown", "rx", now, idle)
		wantCode(t, err, core.EUnauthorized)
		if stored, _ := db.Session(ctx, s.ID); stored.RevokedAt != nil {
			t.Fatal("an unknown token revoked the session")
		}

		// Reuse of r0 revokes the session, and the revocation is committed.
		_, err = db.RotateRefresh(ctx, "r0", "r2", now.Add(time.Minute), idle)
		wantCode(t, err, core.EUnauthorized)
		stored, _ = db.Session(ctx, s.ID)
		if stored.RevokedAt == nil || !stored.RevokedAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("after reuse RevokedAt = %v", stored.RevokedAt)
		}
		_, err = db.RotateRefresh(ctx, "r1", "r3", now.Add(2*time.Minute), idle)
		wantCode(t, err, core.EUnauthorized)
	})
}

func TestRotateRefreshInactiveSession(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")

		idleSess := newSession(t, db, u.ID, "idle0")
		_, err := db.RotateRefresh(ctx, "idle0", "idle1", t0.Add(idle), idle)
		wantCode(t, err, core.EUnauthorized)
		_, err = db.RotateRefresh(ctx, "idle0", "idle1", t0.Add(idle-time.Microsecond), idle)
		must(t, err) // the refused attempt changed nothing
		if stored, _ := db.Session(ctx, idleSess.ID); stored.RevokedAt != nil {
			t.Fatal("idle refusal revoked the session")
		}

		old := newSession(t, db, u.ID, "old0")
		_, err = db.RotateRefresh(ctx, "old0", "old1", old.ExpiresAt, 100*24*time.Hour)
		wantCode(t, err, core.EUnauthorized)

		revoked := newSession(t, db, u.ID, "rev0")
		must(t, db.RevokeSession(ctx, revoked.ID, t0))
		must(t, db.RevokeSession(ctx, revoked.ID, t0.Add(time.Second))) // again is fine
		stored, _ := db.Session(ctx, revoked.ID)
		if stored.RevokedAt == nil || !stored.RevokedAt.Equal(t0) {
			t.Fatalf("RevokedAt = %v, want the first revocation %v", stored.RevokedAt, t0)
		}
		_, err = db.RotateRefresh(ctx, "rev0", "rev1", t0.Add(time.Minute), idle)
		wantCode(t, err, core.EUnauthorized)
		wantCode(t, db.RevokeSession(ctx, "ses_missing", t0), core.ENotFound)
	})
}

// Of concurrent rotations of one token exactly one wins; the others present
// a spent token, which revokes the session.
func TestRotateRefreshConcurrent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		s := newSession(t, db, u.ID, "r0")
		const n = 8
		errs := make([]error, n)
		concurrently(n, func(i int) {
			_, errs[i] = db.RotateRefresh(ctx, "r0", core.NewSecret(32), t0.Add(time.Minute), idle)
		})
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !core.IsCode(err, core.EUnauthorized) {
				t.Fatal(err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d rotations succeeded, want 1", ok)
		}
		if stored, _ := db.Session(ctx, s.ID); stored.RevokedAt == nil {
			t.Fatal("reuse by the losers did not revoke the session")
		}
	})
}

func TestRevokeOtherSessions(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		other := verifiedUser(t, db, "")
		keep := newSession(t, db, u.ID, "k")
		a := newSession(t, db, u.ID, "a")
		b := newSession(t, db, u.ID, "b")
		foreign := newSession(t, db, other.ID, "f")

		now := t0.Add(time.Hour)
		must(t, db.RevokeOtherSessions(ctx, u.ID, keep.ID, now))
		for _, s := range []*core.Session{a, b} {
			got, _ := db.Session(ctx, s.ID)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
				t.Fatalf("session %s RevokedAt = %v, want %v", s.ID, got.RevokedAt, now)
			}
		}
		for _, s := range []*core.Session{keep, foreign} {
			if got, _ := db.Session(ctx, s.ID); got.RevokedAt != nil {
				t.Fatalf("session %s was revoked", s.ID)
			}
		}
		_, err := db.RotateRefresh(ctx, "a", "a1", now, idle)
		wantCode(t, err, core.EUnauthorized)
		_, err = db.RotateRefresh(ctx, "k", "k1", now, idle)
		must(t, err)
	})
}
