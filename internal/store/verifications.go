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

// ReserveVerificationAttempt counts one code attempt before the code is
// compared and returns the new count. Only a pending verification, unexpired
// at now, with fewer than MaxCodeAttempts attempts counted takes one, in one
// conditional update, so concurrent attempts never count past the limit.
// ELocked when it is locked or every attempt is spent, EExpired when it is
// no longer pending for another reason.
func (db *DB) ReserveVerificationAttempt(ctx context.Context, id string, now time.Time) (int, error) {
	var attempts int
	err := db.bun.NewUpdate().Model((*verificationRow)(nil)).
		Set("attempts = attempts + 1").
		Where("id = ?", id).
		Where("status = ?", core.VerificationPending).
		Where("expires_at > ?", ts(now)).
		Where("attempts < ?", core.MaxCodeAttempts).
		Returning("attempts").Scan(ctx, &attempts)
	if err == nil {
		return attempts, nil
	}
	if !isNoRows(err) {
		return 0, dbErr(err)
	}
	return 0, db.notPendingVerification(ctx, db.bun, id, now)
}

// LockVerification locks a pending verification whose attempts are all
// spent (the last code was wrong). A verification that is no longer pending
// (verified with an earlier attempt meanwhile) is left as it is.
func (db *DB) LockVerification(ctx context.Context, id string) error {
	_, err := db.bun.NewUpdate().Model((*verificationRow)(nil)).
		Set("status = ?", core.VerificationLocked).
		Where("id = ?", id).
		Where("status = ?", core.VerificationPending).
		Where("attempts >= ?", core.MaxCodeAttempts).
		Exec(ctx)
	return dbErr(err)
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
		return db.notPendingVerification(ctx, db.bun, id, sentAt)
	}
	return nil
}

// CompleteVerification marks the verification and its user's phone verified
// together, only while its count of code attempts is within MaxCodeAttempts
// (ELocked past it). Should another account have verified the same phone or email in
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
			Where("attempts <= ?", core.MaxCodeAttempts).
			Returning("user_id").Scan(ctx, &userID)
		if isNoRows(err) {
			return db.notPendingVerification(ctx, tx, id, now)
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
// verification, unexpired at now and with attempts left, matched nothing.
func (db *DB) notPendingVerification(ctx context.Context, idb bun.IDB, id string, now time.Time) error {
	v, err := db.verification(ctx, idb, id)
	if err != nil {
		return err
	}
	switch {
	case v.Status == core.VerificationLocked,
		v.Status == core.VerificationPending && now.Before(v.ExpiresAt) && v.Attempts >= core.MaxCodeAttempts:
		return core.Errorf(core.ELocked, "too many wrong codes; start again")
	}
	return core.Errorf(core.EExpired, "this verification has expired")
}
