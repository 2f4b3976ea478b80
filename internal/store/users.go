package store

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID            string `bun:"id,pk"`
	Name          string `bun:"name"`
	Email         string `bun:"email"`
	Phone         string `bun:"phone"`
	PhoneVerified bool   `bun:"phone_verified"`
	PasswordHash  string `bun:"password_hash"`
	TwoFactor     bool   `bun:"two_factor"`
	Passwordless  string `bun:"passwordless"`
	CreatedAt     dbTime `bun:"created_at"`
	UpdatedAt     dbTime `bun:"updated_at"`
}

func newUserRow(u *core.User) *userRow {
	return &userRow{
		ID:            u.ID,
		Name:          u.Name,
		Email:         strings.ToLower(u.Email),
		Phone:         u.Phone,
		PhoneVerified: u.PhoneVerified,
		PasswordHash:  u.PasswordHash,
		TwoFactor:     u.TwoFactor,
		Passwordless:  passwordlessOrOff(u.Passwordless),
		CreatedAt:     ts(u.CreatedAt),
		UpdatedAt:     ts(u.UpdatedAt),
	}
}

func (r *userRow) user() *core.User {
	return &core.User{
		ID:            r.ID,
		Name:          r.Name,
		Email:         r.Email,
		Phone:         r.Phone,
		PhoneVerified: r.PhoneVerified,
		PasswordHash:  r.PasswordHash,
		TwoFactor:     r.TwoFactor,
		Passwordless:  core.Passwordless(r.Passwordless),
		CreatedAt:     r.CreatedAt.Time,
		UpdatedAt:     r.UpdatedAt.Time,
	}
}

// CreateSignup stores u and v, replacing an unverified account with the same
// phone: its verifications, pending or locked, become superseded, so their
// ids answer "expired". The checks run inside the
// transaction; the partial unique indexes are the safety net for races.
func (db *DB) CreateSignup(ctx context.Context, u *core.User, v *core.Verification) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		taken, err := tx.NewSelect().Model((*userRow)(nil)).
			Where("phone = ?", u.Phone).Where("phone_verified").Exists(ctx)
		if err != nil {
			return err
		}
		if taken {
			return core.Errorf(core.EPhoneTaken, "this phone number already has an account")
		}
		if email := strings.ToLower(u.Email); email != "" {
			taken, err := tx.NewSelect().Model((*userRow)(nil)).
				Where("email <> ''").Where("lower(email) = ?", email).Where("phone_verified").Exists(ctx)
			if err != nil {
				return err
			}
			if taken {
				return core.Errorf(core.EEmailTaken, "this email address already has an account")
			}
		}

		// Replace every unverified account of this phone (a race may have
		// left more than one).
		var replaced []string
		err = tx.NewSelect().Model((*userRow)(nil)).Column("id").
			Where("phone = ?", u.Phone).Where("NOT phone_verified").Scan(ctx, &replaced)
		if err != nil {
			return err
		}
		if len(replaced) > 0 {
			_, err = tx.NewUpdate().Model((*verificationRow)(nil)).
				Set("status = ?", core.VerificationSuperseded).
				Where("user_id IN (?)", bun.List(replaced)).
				Where("status <> ?", core.VerificationVerified).
				Exec(ctx)
			if err != nil {
				return err
			}
			_, err = tx.NewDelete().Model((*userRow)(nil)).Where("id IN (?)", bun.List(replaced)).Exec(ctx)
			if err != nil {
				return err
			}
		}

		if _, err := tx.NewInsert().Model(newUserRow(u)).Exec(ctx); err != nil {
			return mapUserConflict(err)
		}
		_, err = tx.NewInsert().Model(newVerificationRow(v)).Exec(ctx)
		return err
	})
}

// mapUserConflict turns a violated verified-phone or verified-email index
// into its contract code.
func mapUserConflict(err error) error {
	switch {
	case uniqueViolation(err, verifiedPhoneKey...):
		return core.Errorf(core.EPhoneTaken, "this phone number already has an account")
	case uniqueViolation(err, verifiedEmailKey...):
		return core.Errorf(core.EEmailTaken, "this email address already has an account")
	}
	return err
}

func (db *DB) UserByID(ctx context.Context, id string) (*core.User, error) {
	return db.findUser(ctx, "id = ?", id)
}

// UserByPhone prefers the verified account, then the newest.
func (db *DB) UserByPhone(ctx context.Context, phone string) (*core.User, error) {
	return db.findUser(ctx, "phone = ?", phone)
}

// UserByEmail compares lower-cased, preferring the verified account, then
// the newest.
func (db *DB) UserByEmail(ctx context.Context, email string) (*core.User, error) {
	email = strings.ToLower(email)
	if email == "" {
		return nil, core.Errorf(core.ENotFound, "user not found")
	}
	return db.findUser(ctx, "email <> '' AND lower(email) = ?", email)
}

func (db *DB) findUser(ctx context.Context, where string, arg any) (*core.User, error) {
	var row userRow
	err := db.bun.NewSelect().Model(&row).Where(where, arg).
		OrderExpr("phone_verified DESC, created_at DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, notFoundOr(err, "user")
	}
	return row.user(), nil
}

func (db *DB) SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	return db.updateUser(ctx, userID, now, "password_hash = ?", hash)
}

func (db *DB) SetTwoFactor(ctx context.Context, userID string, on bool, now time.Time) error {
	return db.updateUser(ctx, userID, now, "two_factor = ?", on)
}

// SetPasswordless stores the user's passwordless sign-in setting.
func (db *DB) SetPasswordless(ctx context.Context, userID string, mode core.Passwordless, now time.Time) error {
	return db.updateUser(ctx, userID, now, "passwordless = ?", passwordlessOrOff(mode))
}

// passwordlessOrOff is mode, with "" (a user built without one) as off.
func passwordlessOrOff(mode core.Passwordless) string {
	if mode == "" {
		return string(core.PasswordlessOff)
	}
	return string(mode)
}

func (db *DB) updateUser(ctx context.Context, userID string, now time.Time, set string, arg any) error {
	res, err := db.bun.NewUpdate().Model((*userRow)(nil)).
		Set(set, arg).Set("updated_at = ?", ts(now)).
		Where("id = ?", userID).Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	return foundOne(res, "user")
}
