package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type verificationRow struct {
	bun.BaseModel `bun:"table:verifications"`

	ID         string                  `bun:"id,pk"`
	UserID     string                  `bun:"user_id"`
	Phone      string                  `bun:"phone"`
	CodeHash   string                  `bun:"code_hash"`
	Attempts   int                     `bun:"attempts"`
	Status     core.VerificationStatus `bun:"status"`
	ExpiresAt  dbTime                  `bun:"expires_at"`
	LastSentAt dbTime                  `bun:"last_sent_at"`
	CreatedAt  dbTime                  `bun:"created_at"`
}

func newVerificationRow(v *core.Verification) *verificationRow {
	status := v.Status
	if status == "" {
		status = core.VerificationPending
	}
	return &verificationRow{
		ID:         v.ID,
		UserID:     v.UserID,
		Phone:      v.Phone,
		CodeHash:   v.CodeHash,
		Attempts:   v.Attempts,
		Status:     status,
		ExpiresAt:  ts(v.ExpiresAt),
		LastSentAt: ts(v.LastSentAt),
		CreatedAt:  ts(v.CreatedAt),
	}
}

func (r *verificationRow) verification() *core.Verification {
	return &core.Verification{
		ID:         r.ID,
		UserID:     r.UserID,
		Phone:      r.Phone,
		CodeHash:   r.CodeHash,
		Attempts:   r.Attempts,
		Status:     r.Status,
		ExpiresAt:  r.ExpiresAt.Time,
		LastSentAt: r.LastSentAt.Time,
		CreatedAt:  r.CreatedAt.Time,
	}
}

func (db *DB) Verification(ctx context.Context, id string) (*core.Verification, error) {
	return db.verification(ctx, db.bun, id)
}

func (db *DB) verification(ctx context.Context, idb bun.IDB, id string) (*core.Verification, error) {
	var row verificationRow
	if err := idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFoundOr(err, "verification")
	}
	return row.verification(), nil
}

// AddVerificationFailure counts a wrong code; the MaxCodeAttempts-th locks
// the verification. ELocked when it was locked already, EExpired when it is
// no longer pending for another reason.
func (db *DB) AddVerificationFailure(ctx context.Context, id string) (int, error) {
	var attempts int
	err := db.bun.NewUpdate().Model((*verificationRow)(nil)).
		Set("attempts = attempts + 1").
		Set("status = CASE WHEN attempts + 1 >= ? THEN ? ELSE status END", core.MaxCodeAttempts, core.VerificationLocked).
		Where("id = ?", id).Where("status = ?", core.VerificationPending).
		Returning("attempts").Scan(ctx, &attempts)
	if err == nil {
		return attempts, nil
	}
	if !isNoRows(err) {
		return 0, dbErr(err)
	}
	return 0, db.notPendingVerification(ctx, db.bun, id)
}

// ReplaceVerificationCode swaps the code of a pending verification that
// has not expired at sentAt. The count of wrong attempts is kept, and so is
// the expiry: a resend must not extend a verification's life, or resending
// every few minutes would keep one open (and texting) for ever.
func (db *DB) ReplaceVerificationCode(ctx context.Context, id, codeHash string, sentAt time.Time) error {
	res, err := db.bun.NewUpdate().Model((*verificationRow)(nil)).
		Set("code_hash = ?", codeHash).
		Set("last_sent_at = ?", ts(sentAt)).
		Where("id = ?", id).Where("status = ?", core.VerificationPending).
		Where("expires_at > ?", ts(sentAt)).
		Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return db.notPendingVerification(ctx, db.bun, id)
	}
	return nil
}

// CompleteVerification marks the verification and its user's phone verified
// together. Should another account have verified the same phone or email in
// the meantime, it gives EPhoneTaken or EEmailTaken and changes nothing.
func (db *DB) CompleteVerification(ctx context.Context, id string, now time.Time) (*core.User, error) {
	var user *core.User
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var userID string
		err := tx.NewUpdate().Model((*verificationRow)(nil)).
			Set("status = ?", core.VerificationVerified).
			Where("id = ?", id).
			Where("status = ?", core.VerificationPending).
			Where("expires_at > ?", ts(now)).
			Returning("user_id").Scan(ctx, &userID)
		if isNoRows(err) {
			return db.notPendingVerification(ctx, tx, id)
		}
		if err != nil {
			return err
		}
		var row userRow
		err = tx.NewUpdate().Model(&row).
			Set("phone_verified = ?", true).
			Set("updated_at = ?", ts(now)).
			Where("id = ?", userID).
			Returning("*").Scan(ctx)
		if isNoRows(err) {
			// The account was replaced; its verification should have been
			// superseded with it.
			return core.Errorf(core.EExpired, "this verification has expired")
		}
		if err != nil {
			return mapUserConflict(err)
		}
		user = row.user()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return user, nil
}

// notPendingVerification explains why a conditional update on a pending
// verification matched nothing.
func (db *DB) notPendingVerification(ctx context.Context, idb bun.IDB, id string) error {
	v, err := db.verification(ctx, idb, id)
	if err != nil {
		return err
	}
	if v.Status == core.VerificationLocked {
		return core.Errorf(core.ELocked, "too many wrong codes; start again")
	}
	return core.Errorf(core.EExpired, "this verification has expired")
}
