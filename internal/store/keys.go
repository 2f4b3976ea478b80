package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type signingKeyRow struct {
	bun.BaseModel `bun:"table:signing_keys"`

	KID        string          `bun:"kid,pk"`
	Purpose    core.KeyPurpose `bun:"purpose"`
	PrivateKey []byte          `bun:"private_key"`
	CreatedAt  dbTime          `bun:"created_at"`
	RetiredAt  *dbTime         `bun:"retired_at"`
}

func newSigningKeyRow(k *core.SigningKey) *signingKeyRow {
	return &signingKeyRow{
		KID:        k.KID,
		Purpose:    k.Purpose,
		PrivateKey: k.PrivateKey,
		CreatedAt:  ts(k.CreatedAt),
		RetiredAt:  tsPtr(k.RetiredAt),
	}
}

func (r *signingKeyRow) key() *core.SigningKey {
	return &core.SigningKey{
		KID:        r.KID,
		Purpose:    r.Purpose,
		PrivateKey: r.PrivateKey,
		CreatedAt:  r.CreatedAt.Time,
		RetiredAt:  timePtr(r.RetiredAt),
	}
}

// Keys returns the keys of purpose, newest first, retired ones included.
func (db *DB) Keys(ctx context.Context, purpose core.KeyPurpose) ([]*core.SigningKey, error) {
	var rows []signingKeyRow
	err := db.bun.NewSelect().Model(&rows).Where("purpose = ?", purpose).
		OrderExpr("created_at DESC, kid DESC").Scan(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	keys := make([]*core.SigningKey, len(rows))
	for i := range rows {
		keys[i] = rows[i].key()
	}
	return keys, nil
}

// InsertKeyIfNone inserts k unless the partial unique index on unretired
// keys of its purpose already holds one, then returns whichever is active.
// PostgreSQL makes a concurrent insert wait for the first to commit, so both
// callers read the same winner.
func (db *DB) InsertKeyIfNone(ctx context.Context, k *core.SigningKey) (*core.SigningKey, error) {
	row := newSigningKeyRow(k)
	if _, err := db.bun.NewInsert().Model(row).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return nil, dbErr(err)
	}
	var active signingKeyRow
	err := db.bun.NewSelect().Model(&active).
		Where("purpose = ?", k.Purpose).Where("retired_at IS NULL").Scan(ctx)
	if isNoRows(err) {
		// Only when k itself was inserted retired.
		return nil, dbErr(fmt.Errorf("no active %s key after insert", k.Purpose))
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return active.key(), nil
}

// ReplacePrivateKey implements core.KeyStore: the stored value is compared,
// so of two instances sealing one key anew, the second changes nothing.
func (db *DB) ReplacePrivateKey(ctx context.Context, kid string, old, private []byte) error {
	_, err := db.bun.NewUpdate().Model((*signingKeyRow)(nil)).
		Set("private_key = ?", private).Where("kid = ?", kid).Where("private_key = ?", old).Exec(ctx)
	return dbErr(err)
}

// RotateKey implements core.KeyStore.
func (db *DB) RotateKey(ctx context.Context, k *core.SigningKey) error {
	if k.RetiredAt != nil {
		return fmt.Errorf("store: a key rotated in is not retired")
	}
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*signingKeyRow)(nil)).Set("retired_at = ?", ts(k.CreatedAt)).
			Where("purpose = ?", k.Purpose).Where("retired_at IS NULL").Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(newSigningKeyRow(k)).Exec(ctx)
		return err
	})
}

// ActivateKey implements keyring.KeyActivator: kid, which must be the newest
// unretired key of purpose, starts at at when it would start later, and the
// keys retired after at are retired at at; in one transaction.
func (db *DB) ActivateKey(ctx context.Context, purpose core.KeyPurpose, kid string, at time.Time) error {
	return dbErr(db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*signingKeyRow)(nil)).Set("created_at = ?", ts(at)).
			Where("purpose = ?", purpose).Where("kid = ?", kid).Where("retired_at IS NULL").
			Where("created_at > ?", ts(at)).Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.NewUpdate().Model((*signingKeyRow)(nil)).Set("retired_at = ?", ts(at)).
			Where("purpose = ?", purpose).Where("kid <> ?", kid).Where("retired_at > ?", ts(at)).Exec(ctx)
		return err
	}))
}
