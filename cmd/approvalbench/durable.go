package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/uptrace/bun/driver/pgdriver"
)

// PostgresSettings are the bench database's settings that decide whether a
// commit waits for the disk: a deployment runs fsync and synchronous_commit
// on, the CI services run both off for speed.
type PostgresSettings struct {
	Fsync             string `json:"fsync"`
	SynchronousCommit string `json:"synchronous_commit"`
	WALIOTiming       string `json:"track_wal_io_timing"`
}

// Durable is true when a commit is on disk before the server answers it.
func (s PostgresSettings) Durable() bool {
	return s.Fsync == "on" && s.SynchronousCommit != "off" && s.SynchronousCommit != "local"
}

// walCounts are PostgreSQL's pg_stat_wal counters (cluster-wide).
type walCounts struct {
	syncs  float64
	syncMs float64
}

// makeDurable asks for a commit that waits for the disk: synchronous_commit
// on for the bench's database (a setting any database may have), and an
// error when the server runs fsync off, which only its configuration can
// change.
func makeDurable(ctx context.Context, dbURL string) error {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dbURL)))
	defer db.Close()
	var fsync string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('fsync')").Scan(&fsync); err != nil {
		return err
	}
	if fsync != "on" {
		return errors.New("-durable: this PostgreSQL runs fsync=off (the CI services do, for speed); start one with fsync=on (BENCHMARKS.md, \"The durable row\")")
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	_, err = db.ExecContext(ctx, "ALTER DATABASE "+name+" SET synchronous_commit = on")
	return err
}

// postgresSettings reads the settings a new connection to dbURL gets.
func postgresSettings(ctx context.Context, dbURL string) (PostgresSettings, error) {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dbURL)))
	defer db.Close()
	var s PostgresSettings
	err := db.QueryRowContext(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('track_wal_io_timing')").
		Scan(&s.Fsync, &s.SynchronousCommit, &s.WALIOTiming)
	return s, err
}

// readWAL reads pg_stat_wal: how often WAL was flushed to disk and for how
// long (the time only with track_wal_io_timing on). Zero on an error.
func (b *bench) readWAL(ctx context.Context) walCounts {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(b.databaseURL)))
	defer db.Close()
	var w walCounts
	_ = db.QueryRowContext(ctx, "SELECT wal_sync, wal_sync_time FROM pg_stat_wal").Scan(&w.syncs, &w.syncMs)
	return w
}

// walFigure is the WAL flushes of a window, per decision.
func walFigure(before, after walCounts, decisions int) string {
	if decisions == 0 {
		return "–"
	}
	n := after.syncs - before.syncs
	return fmt.Sprintf("%.0f flushes, %.3f ms each, %.3f ms per decision", n, (after.syncMs-before.syncMs)/max(n, 1), (after.syncMs-before.syncMs)/float64(decisions))
}
