package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type enrollmentRow struct {
	bun.BaseModel `bun:"table:enrollments"`

	CodeHash  string  `bun:"code_hash,pk"`
	UserID    string  `bun:"user_id"`
	ExpiresAt dbTime  `bun:"expires_at"`
	UsedAt    *dbTime `bun:"used_at"`
	CreatedAt dbTime  `bun:"created_at"`
}

func (db *DB) CreateEnrollment(ctx context.Context, e *core.Enrollment) error {
	row := &enrollmentRow{
		CodeHash:  e.CodeHash,
		UserID:    e.UserID,
		ExpiresAt: ts(e.ExpiresAt),
		UsedAt:    tsPtr(e.UsedAt),
		CreatedAt: ts(e.CreatedAt),
	}
	_, err := db.bun.NewInsert().Model(row).Exec(ctx)
	return dbErr(err)
}

// UseEnrollment spends the code in one conditional update, so it works once
// even when presented twice at the same moment.
func (db *DB) UseEnrollment(ctx context.Context, codeHash string, now time.Time) (*core.Enrollment, error) {
	var row enrollmentRow
	err := db.bun.NewUpdate().Model(&row).
		Set("used_at = ?", ts(now)).
		Where("code_hash = ?", codeHash).
		Where("used_at IS NULL").
		Where("expires_at > ?", ts(now)).
		Returning("*").Scan(ctx)
	if isNoRows(err) {
		return nil, core.FieldError(core.EInvalidCode, "enrollment_code", "the enrollment code is unknown, used or expired")
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return &core.Enrollment{
		CodeHash:  row.CodeHash,
		UserID:    row.UserID,
		ExpiresAt: row.ExpiresAt.Time,
		UsedAt:    timePtr(row.UsedAt),
		CreatedAt: row.CreatedAt.Time,
	}, nil
}
