package store

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	ID         string  `bun:"id,pk"`
	UserID     string  `bun:"user_id"`
	AMR        string  `bun:"amr"` // space-separated
	AuthTime   dbTime  `bun:"auth_time"`
	CreatedAt  dbTime  `bun:"created_at"`
	LastUsedAt dbTime  `bun:"last_used_at"`
	ExpiresAt  dbTime  `bun:"expires_at"`
	RevokedAt  *dbTime `bun:"revoked_at"`
	ClientID   string  `bun:"client_id"`
	Scopes     string  `bun:"scopes"` // space-separated
}

// refreshTokenRow is one refresh token of a session, by hash; a spent one
// is kept so presenting it again is recognized as reuse.
type refreshTokenRow struct {
	bun.BaseModel `bun:"table:refresh_tokens"`

	Hash      string  `bun:"hash,pk"`
	SessionID string  `bun:"session_id"`
	CreatedAt dbTime  `bun:"created_at"`
	SpentAt   *dbTime `bun:"spent_at"`
}

func newSessionRow(s *core.Session) *sessionRow {
	return &sessionRow{
		ID:         s.ID,
		UserID:     s.UserID,
		AMR:        strings.Join(s.AMR, " "),
		AuthTime:   ts(s.AuthTime),
		CreatedAt:  ts(s.CreatedAt),
		LastUsedAt: ts(s.LastUsedAt),
		ExpiresAt:  ts(s.ExpiresAt),
		RevokedAt:  tsPtr(s.RevokedAt),
		ClientID:   s.ClientID,
		Scopes:     strings.Join(s.Scopes, " "),
	}
}

func (r *sessionRow) session() *core.Session {
	return &core.Session{
		ID:         r.ID,
		UserID:     r.UserID,
		AMR:        strings.Fields(r.AMR),
		AuthTime:   r.AuthTime.Time,
		CreatedAt:  r.CreatedAt.Time,
		LastUsedAt: r.LastUsedAt.Time,
		ExpiresAt:  r.ExpiresAt.Time,
		RevokedAt:  timePtr(r.RevokedAt),
		ClientID:   r.ClientID,
		Scopes:     fieldsOrNil(r.Scopes),
	}
}

func errBadRefresh() error {
	return core.Errorf(core.EUnauthorized, "the refresh token is not valid")
}

// CreateSession stores s with its first refresh token.
func (db *DB) CreateSession(ctx context.Context, s *core.Session, refreshHash string) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(newSessionRow(s)).Exec(ctx); err != nil {
			return err
		}
		tok := &refreshTokenRow{Hash: refreshHash, SessionID: s.ID, CreatedAt: ts(s.CreatedAt)}
		_, err := tx.NewInsert().Model(tok).Exec(ctx)
		return err
	})
}

func (db *DB) Session(ctx context.Context, id string) (*core.Session, error) {
	return db.session(ctx, db.bun, id)
}

func (db *DB) session(ctx context.Context, idb bun.IDB, id string) (*core.Session, error) {
	var row sessionRow
	if err := idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFoundOr(err, "session")
	}
	return row.session(), nil
}

// RotateRefresh spends oldHash and stores newHash in one transaction. The
// token is spent by a conditional update, so of two concurrent rotations
// one wins and the other counts as reuse.
func (db *DB) RotateRefresh(ctx context.Context, oldHash, newHash string, now time.Time, idle time.Duration) (*core.Session, error) {
	now = ts(now).Time
	var rotated *core.Session
	reused := false
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var sessionID string
		err := tx.NewUpdate().Model((*refreshTokenRow)(nil)).
			Set("spent_at = ?", ts(now)).
			Where("hash = ?", oldHash).Where("spent_at IS NULL").
			Returning("session_id").Scan(ctx, &sessionID)
		if isNoRows(err) {
			var tok refreshTokenRow
			err := tx.NewSelect().Model(&tok).Where("hash = ?", oldHash).Scan(ctx)
			if isNoRows(err) {
				return errBadRefresh()
			}
			if err != nil {
				return err
			}
			// Reuse of a spent token: the session is compromised. Commit the
			// revocation, then answer unauthorized.
			reused = true
			return revokeSession(ctx, tx, tok.SessionID, now)
		}
		if err != nil {
			return err
		}

		s, err := db.session(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if !s.Active(now, idle) {
			return errBadRefresh() // rolls back: nothing to change
		}
		tok := &refreshTokenRow{Hash: newHash, SessionID: sessionID, CreatedAt: ts(now)}
		if _, err := tx.NewInsert().Model(tok).Exec(ctx); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*sessionRow)(nil)).
			Set("last_used_at = ?", ts(now)).Where("id = ?", sessionID).Exec(ctx)
		if err != nil {
			return err
		}
		s.LastUsedAt = now
		rotated = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, errBadRefresh()
	}
	return rotated, nil
}

func revokeSession(ctx context.Context, idb bun.IDB, id string, now time.Time) error {
	_, err := idb.NewUpdate().Model((*sessionRow)(nil)).
		Set("revoked_at = ?", ts(now)).
		Where("id = ?", id).Where("revoked_at IS NULL").
		Exec(ctx)
	return err
}

// RevokeSession revokes the session (again is fine); ENotFound when there is
// no such session.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if err := revokeSession(ctx, db.bun, id, now); err != nil {
		return dbErr(err)
	}
	exists, err := db.bun.NewSelect().Model((*sessionRow)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return dbErr(err)
	}
	if !exists {
		return core.Errorf(core.ENotFound, "session not found")
	}
	return nil
}

func (db *DB) RevokeOtherSessions(ctx context.Context, userID, keepID string, now time.Time) error {
	_, err := db.bun.NewUpdate().Model((*sessionRow)(nil)).
		Set("revoked_at = ?", ts(now)).
		Where("user_id = ?", userID).Where("id <> ?", keepID).Where("revoked_at IS NULL").
		Exec(ctx)
	return dbErr(err)
}

// SessionByRefreshToken returns the session whose current (unspent) refresh
// token has hash; ENotFound for a spent or unknown one. It spends nothing:
// a revocation request names a token without using it.
func (db *DB) SessionByRefreshToken(ctx context.Context, hash string) (*core.Session, error) {
	var row sessionRow
	err := db.bun.NewSelect().Model(&row).
		Where("id = (SELECT session_id FROM refresh_tokens WHERE hash = ? AND spent_at IS NULL)", hash).
		Scan(ctx)
	if err != nil {
		return nil, notFoundOr(err, "session")
	}
	return row.session(), nil
}

// RevokeClientSessions revokes every active session userID has with the
// OpenID Connect client clientID (an application's logout).
func (db *DB) RevokeClientSessions(ctx context.Context, userID, clientID string, now time.Time) error {
	if clientID == "" {
		return core.Errorf(core.EInvalidRequest, "a client id is required")
	}
	_, err := db.bun.NewUpdate().Model((*sessionRow)(nil)).
		Set("revoked_at = ?", ts(now)).
		Where("user_id = ?", userID).Where("client_id = ?", clientID).Where("revoked_at IS NULL").
		Exec(ctx)
	return dbErr(err)
}

// fieldsOrNil splits a space-separated column; nil for an empty one, as
// the session had it before it was stored.
func fieldsOrNil(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}
