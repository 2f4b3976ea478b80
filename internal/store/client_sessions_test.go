package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// newClientSession stores a session of OpenID Connect client clientID.
func newClientSession(t *testing.T, db *DB, userID, clientID, refreshHash string) *core.Session {
	t.Helper()
	s := &core.Session{
		ID:         core.NewID(core.PrefixSession),
		UserID:     userID,
		AMR:        []string{"pwd", "push"},
		AuthTime:   t0.Add(-time.Minute),
		CreatedAt:  t0,
		LastUsedAt: t0,
		ExpiresAt:  t0.Add(90 * 24 * time.Hour),
		ClientID:   clientID,
		Scopes:     []string{"openid", "profile", "offline_access"},
	}
	must(t, db.CreateSession(context.Background(), s, refreshHash))
	return s
}

func TestClientSessionRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		u := verifiedUser(t, db, "")
		s := newClientSession(t, db, u.ID, "clt_wiki", "c0")
		got, err := db.Session(context.Background(), s.ID)
		must(t, err)
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("Session\n got %+v\nwant %+v", got, s)
		}
	})
}

func TestSessionByRefreshToken(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		s := newClientSession(t, db, u.ID, "clt_wiki", "c0")
		own := newSession(t, db, u.ID, "o0")

		for range 2 { // reading spends nothing
			got, err := db.SessionByRefreshToken(ctx, "c0")
			must(t, err)
			if !reflect.DeepEqual(got, s) {
				t.Fatalf("SessionByRefreshToken\n got %+v\nwant %+v", got, s)
			}
		}
		got, err := db.SessionByRefreshToken(ctx, "o0")
		must(t, err)
		if got.ID != own.ID || got.ClientID != "" || got.Scopes != nil {
			t.Fatalf("approvald's own session read back as %+v", got)
		}

		_, err = db.SessionByRefreshToken(ctx, "unknown")
		wantCode(t, err, core.ENotFound)

		// The token still rotates; then the old one is unknown here and
		// the new one names the session.
		now := t0.Add(time.Hour)
		_, err = db.RotateRefresh(ctx, "c0", "c1", now, idle)
		must(t, err)
		_, err = db.SessionByRefreshToken(ctx, "c0")
		wantCode(t, err, core.ENotFound)
		got, err = db.SessionByRefreshToken(ctx, "c1")
		must(t, err)
		if got.ID != s.ID || !got.LastUsedAt.Equal(now) {
			t.Fatalf("after rotation %+v", got)
		}
		// Nor did the lookup of the spent token count as reuse.
		if stored, _ := db.Session(ctx, s.ID); stored.RevokedAt != nil {
			t.Fatal("a lookup revoked the session")
		}

		// A revoked session is still found by its current token, revoked:
		// the caller decides (the store only names it).
		must(t, db.RevokeSession(ctx, s.ID, now))
		got, err = db.SessionByRefreshToken(ctx, "c1")
		must(t, err)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
			t.Fatalf("revoked session read back as %+v", got)
		}
	})
}

// An application's logout revokes that application's active sessions of
// that user, and nothing else.
func TestRevokeClientSessions(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ada := verifiedUser(t, db, "")
		bob := verifiedUser(t, db, "")
		wiki1 := newClientSession(t, db, ada.ID, "clt_wiki", "w1")
		wiki2 := newClientSession(t, db, ada.ID, "clt_wiki", "w2")
		earlier := newClientSession(t, db, ada.ID, "clt_wiki", "w3")
		mail := newClientSession(t, db, ada.ID, "clt_mail", "m")
		bobWiki := newClientSession(t, db, bob.ID, "clt_wiki", "bw")
		own := newSession(t, db, ada.ID, "o")

		must(t, db.RevokeSession(ctx, earlier.ID, t0))
		now := t0.Add(time.Hour)
		must(t, db.RevokeClientSessions(ctx, ada.ID, "clt_wiki", now))

		for _, s := range []*core.Session{wiki1, wiki2} {
			got, _ := db.Session(ctx, s.ID)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
				t.Fatalf("session %s RevokedAt = %v, want %v", s.ID, got.RevokedAt, now)
			}
		}
		if got, _ := db.Session(ctx, earlier.ID); got.RevokedAt == nil || !got.RevokedAt.Equal(t0) {
			t.Fatalf("an already revoked session RevokedAt = %v, want the first %v", got.RevokedAt, t0)
		}
		for _, s := range []*core.Session{mail, bobWiki, own} {
			if got, _ := db.Session(ctx, s.ID); got.RevokedAt != nil {
				t.Fatalf("session %s (%s of %s) was revoked", s.ID, s.ClientID, s.UserID)
			}
		}
		_, err := db.RotateRefresh(ctx, "w1", "w1b", now, idle)
		wantCode(t, err, core.EUnauthorized)
		_, err = db.RotateRefresh(ctx, "m", "m1", now, idle)
		must(t, err)

		// Again, or for a client or user with no session, is fine.
		must(t, db.RevokeClientSessions(ctx, ada.ID, "clt_wiki", now.Add(time.Minute)))
		must(t, db.RevokeClientSessions(ctx, ada.ID, "clt_none", now))
		must(t, db.RevokeClientSessions(ctx, "usr_missing", "clt_wiki", now))
		if got, _ := db.Session(ctx, wiki1.ID); !got.RevokedAt.Equal(now) {
			t.Fatalf("a second logout moved RevokedAt to %v", got.RevokedAt)
		}

		// Without a client id it is refused: "" would be approvald's own.
		wantCode(t, db.RevokeClientSessions(ctx, ada.ID, "", now), core.EInvalidRequest)
		if got, _ := db.Session(ctx, own.ID); got.RevokedAt != nil {
			t.Fatal("approvald's own session was revoked")
		}
	})
}
