package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/migrations"
)

// migrationLockKey names Migrate's PostgreSQL advisory lock; any constant
// that no other lock of the database uses.
const migrationLockKey int64 = 0x617070726f76 // "approv"

// schemaMigrationsDDL creates the table that records applied migrations.
var schemaMigrationsDDL = map[string]string{
	DialectPostgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL)`,
	DialectSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL) STRICT`,
}

type schemaMigrationRow struct {
	bun.BaseModel `bun:"table:schema_migrations"`

	Version   string `bun:"version,pk"`
	AppliedAt dbTime `bun:"applied_at"`
}

// Migrate applies the embedded migrations of the dialect that are not
// recorded yet, in name order, in one transaction under a lock: PostgreSQL
// takes a transaction-scoped advisory lock (released by commit or rollback,
// so it cannot leak with a pooled connection); SQLite's IMMEDIATE
// transaction holds the database's write lock. A second caller waits, then
// finds everything applied.
func (db *DB) Migrate(ctx context.Context) error {
	files, err := migrationFiles(db.dialect)
	if err != nil {
		return err
	}
	tx, err := db.bun.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	defer func() { _ = tx.Rollback() }()

	if db.isPostgres() {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", migrationLockKey); err != nil {
			return dbErr(err)
		}
	}
	if _, err := tx.ExecContext(ctx, schemaMigrationsDDL[db.dialect]); err != nil {
		return dbErr(err)
	}
	var applied []string
	if err := tx.NewSelect().Table("schema_migrations").Column("version").Scan(ctx, &applied); err != nil {
		return dbErr(err)
	}
	done := make(map[string]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}

	for _, name := range files {
		version := strings.TrimSuffix(path.Base(name), ".sql")
		if done[version] {
			continue
		}
		sqlText, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return err
		}
		// Straight to the driver: bun would read a '?' in the file as a
		// placeholder.
		if _, err := tx.Tx.ExecContext(ctx, string(sqlText)); err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
		row := &schemaMigrationRow{Version: version, AppliedAt: ts(time.Now())}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return dbErr(err)
		}
	}
	return dbErr(tx.Commit())
}

// migrationFiles lists the dialect's migrations in the order to apply them.
func migrationFiles(dialect string) ([]string, error) {
	files, err := fs.Glob(migrations.FS, dialect+"/*.sql")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("store: no migrations for %s", dialect)
	}
	sort.Strings(files)
	return files, nil
}
