package store

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type passkeyRow struct {
	bun.BaseModel `bun:"table:passkeys"`

	ID             string  `bun:"id,pk"`
	UserID         string  `bun:"user_id"`
	CredentialID   []byte  `bun:"credential_id"`
	PublicKey      []byte  `bun:"public_key"`
	AAGUID         []byte  `bun:"aaguid"`
	SignCount      int64   `bun:"sign_count"`
	BackupEligible bool    `bun:"backup_eligible"`
	BackupState    bool    `bun:"backup_state"`
	Name           string  `bun:"name"`
	CreatedAt      dbTime  `bun:"created_at"`
	LastUsedAt     *dbTime `bun:"last_used_at"`
}

var passkeyCredentialID = []string{"passkeys_credential_id_key", "passkeys.credential_id"}

func newPasskeyRow(p *core.Passkey) *passkeyRow {
	return &passkeyRow{
		ID: p.ID, UserID: p.UserID, CredentialID: nonNil(p.CredentialID), PublicKey: nonNil(p.PublicKey),
		AAGUID: nonNil(p.AAGUID), SignCount: int64(p.SignCount), BackupEligible: p.BackupEligible,
		BackupState: p.BackupState, Name: p.Name, CreatedAt: ts(p.CreatedAt), LastUsedAt: tsPtr(p.LastUsedAt),
	}
}

func (r *passkeyRow) passkey() *core.Passkey {
	return &core.Passkey{
		ID: r.ID, UserID: r.UserID, CredentialID: r.CredentialID, PublicKey: r.PublicKey, AAGUID: r.AAGUID,
		SignCount: uint32(r.SignCount), BackupEligible: r.BackupEligible, BackupState: r.BackupState,
		Name: r.Name, CreatedAt: r.CreatedAt.Time, LastUsedAt: timePtr(r.LastUsedAt),
	}
}

func errCredentialTaken() error {
	return core.Errorf(core.EKeyTaken, "this passkey is already registered")
}

// CreatePasskey stores p. The passkey limit is counted under a lock on the
// user, so concurrent registrations cannot pass it together; the unique
// index on credential_id backs the credential check.
func (db *DB) CreatePasskey(ctx context.Context, p *core.Passkey) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := db.lockUserRow(ctx, tx, p.UserID); err != nil {
			return err
		}
		n, err := tx.NewSelect().Model((*passkeyRow)(nil)).Where("user_id = ?", p.UserID).Count(ctx)
		if err != nil {
			return err
		}
		if n >= core.MaxPasskeys {
			return core.Errorf(core.ETooManyDevices, "at most %d passkeys per user", core.MaxPasskeys)
		}
		if _, err := tx.NewInsert().Model(newPasskeyRow(p)).Exec(ctx); err != nil {
			if uniqueViolation(err, passkeyCredentialID...) {
				return errCredentialTaken()
			}
			return err
		}
		return nil
	})
}

func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*core.Passkey, error) {
	var row passkeyRow
	if err := db.bun.NewSelect().Model(&row).Where("credential_id = ?", nonNil(credentialID)).Scan(ctx); err != nil {
		return nil, notFoundOr(err, "passkey")
	}
	return row.passkey(), nil
}

// PasskeysByUser lists the user's passkeys, oldest first.
func (db *DB) PasskeysByUser(ctx context.Context, userID string) ([]*core.Passkey, error) {
	var rows []passkeyRow
	if err := db.bun.NewSelect().Model(&rows).Where("user_id = ?", userID).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, dbErr(err)
	}
	out := make([]*core.Passkey, len(rows))
	for i := range rows {
		out[i] = rows[i].passkey()
	}
	return out, nil
}

// DeletePasskey removes the user's passkey; ENotFound when the user has no
// passkey with that id.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	res, err := db.bun.NewDelete().Model((*passkeyRow)(nil)).Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	return foundOne(res, "passkey")
}

// UsePasskey writes a verified login back, guarded by the count it was
// verified against.
func (db *DB) UsePasskey(ctx context.Context, u core.PasskeyUse) error {
	res, err := db.bun.NewUpdate().Model((*passkeyRow)(nil)).
		Set("sign_count = ?", int64(u.SignCount)).
		Set("backup_state = ?", u.BackupState).
		Set("last_used_at = ?", ts(u.At)).
		Where("id = ?", u.ID).Where("sign_count = ?", int64(u.OldSignCount)).
		Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	return foundOne(res, "passkey")
}
