// Package store keeps approvald's persistent state in PostgreSQL or SQLite
// through bun. One repository code path serves both dialects; the few places
// where they differ (row locks, the migration lock) ask DB.isPostgres.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/schema"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/approvald/approvald/internal/core"
)

// Dialect names returned by (*DB).Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// DB is the database behind every store interface of core.
type DB struct {
	bun     *bun.DB
	dialect string

	decideStmt preparedStmt // PostgreSQL's DecideByDevice
}

var (
	_ core.UserStore       = (*DB)(nil)
	_ core.SessionStore    = (*DB)(nil)
	_ core.KeyStore        = (*DB)(nil)
	_ core.DeviceStore     = (*DB)(nil)
	_ core.PasskeyStore    = (*DB)(nil)
	_ core.ApprovalStore   = (*DB)(nil)
	_ core.OIDCClientStore = (*DB)(nil)
	_ core.Pinger          = (*DB)(nil)
)

// Open connects to databaseURL — postgres://…, postgresql://… or sqlite:PATH
// — and checks that the database answers. It does not migrate.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		db, err = openPostgres(databaseURL)
	case strings.HasPrefix(databaseURL, "sqlite:"):
		db, err = openSQLite(databaseURL)
	default:
		return nil, fmt.Errorf("DATABASE_URL must start with postgres://, postgresql:// or sqlite: (got %q)", redactURL(databaseURL))
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(databaseURL string) (db *DB, err error) {
	// pgdriver.WithDSN panics on a URL it cannot parse; report it as an error.
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("DATABASE_URL %q: %v", redactURL(databaseURL), r)
		}
	}()
	connector := pgdriver.NewConnector(
		pgdriver.WithDSN(databaseURL),
		pgdriver.WithDialTimeout(5*time.Second),
		pgdriver.WithReadTimeout(30*time.Second),
		pgdriver.WithWriteTimeout(10*time.Second),
	)
	sqldb := sql.OpenDB(connector)
	conns := max(10, 4*runtime.GOMAXPROCS(0))
	sqldb.SetMaxOpenConns(conns)
	sqldb.SetMaxIdleConns(conns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	sqldb.SetConnMaxLifetime(time.Hour)
	return &DB{bun: newBun(sqldb, pgdialect.New()), dialect: DialectPostgres, decideStmt: preparedStmt{query: decideByDeviceSQL}}, nil
}

// sqliteParams make every connection wait for locks instead of failing
// (busy_timeout), let readers run beside the one writer (WAL), enforce
// foreign keys, and begin every transaction IMMEDIATE: a transaction takes the
// write lock when it starts, so a read-then-write transaction never hits
// SQLITE_BUSY on upgrading, and transactions are serialized.
var sqliteParams = url.Values{
	"_pragma": {
		"busy_timeout(10000)",
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
		"foreign_keys(1)",
	},
	"_txlock": {"immediate"},
}

func openSQLite(databaseURL string) (*DB, error) {
	path := strings.TrimPrefix(databaseURL, "sqlite:")
	path = strings.TrimPrefix(path, "//") // sqlite:///abs/path and sqlite://rel/path too
	if path == "" || strings.ContainsRune(path, '?') || path == ":memory:" {
		// An in-memory database would be a different one per pooled connection.
		return nil, fmt.Errorf("DATABASE_URL %q: want sqlite:PATH with a file path and no query", databaseURL)
	}
	sqldb, err := sql.Open("sqlite", path+"?"+sqliteParams.Encode())
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL %q: %w", databaseURL, err)
	}
	// One writer at a time anyway; a few connections serve concurrent reads.
	conns := max(4, runtime.GOMAXPROCS(0))
	sqldb.SetMaxOpenConns(conns)
	sqldb.SetMaxIdleConns(conns)
	sqldb.SetConnMaxIdleTime(0)
	return &DB{bun: newBun(sqldb, sqlitedialect.New()), dialect: DialectSQLite}, nil
}

// newBun opens bun so that a column it does not know is skipped when a row
// is read: during a rolling upgrade the running instances read rows of a
// schema a newer instance has already migrated (bun would otherwise refuse
// every `RETURNING *` with a new column).
func newBun(sqldb *sql.DB, d schema.Dialect) *bun.DB {
	return bun.NewDB(sqldb, d, bun.WithDiscardUnknownColumns())
}

// redactURL hides a password in a database URL for error messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// Dialect is "postgres" or "sqlite".
func (db *DB) Dialect() string { return db.dialect }

func (db *DB) isPostgres() bool { return db.dialect == DialectPostgres }

// Ping checks that the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.bun.PingContext(ctx); err != nil {
		return core.Unavailable("database", err)
	}
	return nil
}

// PoolStats is what the connection pool counted (for metrics).
func (db *DB) PoolStats() sql.DBStats { return db.bun.DB.Stats() }

// Close closes every connection.
func (db *DB) Close() error {
	return errors.Join(db.decideStmt.close(), db.bun.Close())
}

// inTx runs fn in one transaction (IMMEDIATE on SQLite), committing when fn
// returns nil. fn's *core.Error passes through; other failures are wrapped
// as the database being unavailable.
func (db *DB) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return dbErr(db.bun.RunInTx(ctx, nil, fn))
}

// lockUserRow serializes transactions working on one user's rows (device
// limit). SQLite's IMMEDIATE transaction already holds the database's write
// lock; PostgreSQL locks the user row. ENotFound when the user is gone.
func (db *DB) lockUserRow(ctx context.Context, tx bun.Tx, userID string) error {
	q := tx.NewSelect().Model((*userRow)(nil)).Column("id").Where("id = ?", userID)
	if db.isPostgres() {
		q = q.For("UPDATE")
	}
	var id string
	if err := q.Scan(ctx, &id); err != nil {
		return notFoundOr(err, "user")
	}
	return nil
}

// dbErr passes nil and *core.Error through and wraps anything else as the
// database being unavailable.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	return core.Unavailable("database", err)
}

// notFoundOr turns sql.ErrNoRows into ENotFound naming what, and wraps
// anything else.
func notFoundOr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return core.Errorf(core.ENotFound, "%s not found", what)
	}
	return dbErr(err)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// foundOne gives ENotFound naming what when a write matched no row.
func foundOne(res sql.Result, what string) error {
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return core.Errorf(core.ENotFound, "%s not found", what)
	}
	return nil
}

// rowsAffected reads a result's count, wrapping a failure.
func rowsAffected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbErr(err)
	}
	return n, nil
}
