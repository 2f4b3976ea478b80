package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

// decideByDeviceSQL is DecideByDevice on PostgreSQL: one statement of
// data-modifying CTEs, so the trail entry and the device's last use are
// written only with the decision, and prepared, since planning it afresh
// on every call cost more than running it (BENCHMARKS.md, "What each
// optimization bought"). This is the statement a device's answer, and so
// the waiting browser, waits on.
var decideByDeviceSQL = `WITH decided AS (
	UPDATE approvals AS a
	SET status = $2, reason = $3, method = $4, decided_at = $5, decided_by = $6
	WHERE a.id = $1 AND a.user_id = $7
		AND a.status = 'pending' AND a.expires_at > $16
		AND ($8::integer IS NULL OR a.match_number = $8)
		AND ` + offeredSQL("a", "$9") + `
	RETURNING ` + approvalReturning + `
), recorded AS (
	INSERT INTO security_events (id, user_id, kind, detail, ip, user_agent, created_at)
	SELECT $10, user_id, $11, $12, $13, $14, $15 FROM decided
), touched AS (
	UPDATE devices SET last_used_at = $16 WHERE id = $9 AND EXISTS (SELECT 1 FROM decided)
)
SELECT * FROM decided`

// offeredSQL is approval.offeredTo as an SQL
// condition, for both dialects: the approval (table alias approval) was
// offered to the device whose id is the parameter deviceID, that is the
// device is its user's and was enrolled at or before the push. Times
// compare as the Go rule's do: both columns hold microseconds, and
// SQLite's fixed-width text orders as the instants (see dbTime). The
// approval package's TestOfferedToAgreesWithTheStore runs one table of
// cases through this and through offeredTo.
func offeredSQL(approval, deviceID string) string {
	return "EXISTS (SELECT 1 FROM devices WHERE devices.id = " + deviceID +
		" AND devices.user_id = " + approval + ".user_id" +
		" AND " + approval + ".push_sent_at IS NOT NULL" +
		" AND devices.created_at <= " + approval + ".push_sent_at)"
}

// approvalReturning names every column approvalRow reads, never a.*: a
// prepared statement's result must keep its shape when a later migration
// adds a column under a running instance.
var approvalReturning = func() string {
	cols := []string{"a.id"}
	for _, c := range approvalColumns {
		cols = append(cols, "a."+c)
	}
	slices.Sort(cols[1:])
	return strings.Join(cols, ", ")
}()

// preparedStmt is a statement prepared on first use (the tables exist only
// once the migrations ran); database/sql prepares it again on each pooled
// connection as needed.
type preparedStmt struct {
	query string
	mu    sync.Mutex
	stmt  *sql.Stmt
}

func (p *preparedStmt) get(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stmt == nil {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return nil, err
		}
		p.stmt = stmt
	}
	return p.stmt, nil
}

func (p *preparedStmt) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stmt == nil {
		return nil
	}
	err := p.stmt.Close()
	p.stmt = nil
	return err
}

// DecideByDevice implements core.ApprovalStore: on PostgreSQL in one
// prepared statement, on SQLite (in process, nothing to save) in one
// transaction of three. Both guard the decision with offeredSQL.
func (db *DB) DecideByDevice(ctx context.Context, id string, now time.Time, d core.DeviceDecision) (*core.Approval, error) {
	if d.UserID == "" || d.DeviceID == "" || d.Event == nil {
		return nil, errors.New("store: a device's decision needs its user, its device and its event")
	}
	if d.MatchNumber != nil && !core.IsMatchNumber(*d.MatchNumber) {
		// 0 would match an approval that never showed a number.
		return nil, errors.New("store: a device's decision carries a match number no browser shows")
	}
	row := &approvalRow{}
	var err error
	if db.isPostgres() {
		err = db.decideByDevicePostgres(ctx, id, now, d, row)
	} else {
		err = db.decideByDeviceSQLite(ctx, id, now, d, row)
	}
	if err != nil {
		if isNoRows(err) {
			return nil, nil
		}
		return nil, dbErr(err)
	}
	return row.approval(), nil
}

func (db *DB) decideByDevicePostgres(ctx context.Context, id string, now time.Time, d core.DeviceDecision, row *approvalRow) error {
	stmt, err := db.decideStmt.get(ctx, db.bun.DB)
	if err != nil {
		return err
	}
	c, e := d.Decided, d.Event
	rows, err := stmt.QueryContext(ctx,
		id, string(c.Status), c.Reason, c.Method, ts(c.At).Time, c.By,
		d.UserID, d.MatchNumber, d.DeviceID,
		e.ID, e.Kind, e.Detail, e.IP, e.UserAgent, ts(e.CreatedAt).Time,
		ts(now).Time)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := db.bun.ScanRow(ctx, rows, row); err != nil {
		return err
	}
	return rows.Close()
}

func (db *DB) decideByDeviceSQLite(ctx context.Context, id string, now time.Time, d core.DeviceDecision, row *approvalRow) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := setDecided(tx.NewUpdate().Model(row), d.Decided).
			Where("id = ?", id).
			Where("user_id = ?", d.UserID).
			Where(offeredSQL("?TableAlias", "?"), d.DeviceID)
		if d.MatchNumber != nil {
			q = q.Where("match_number = ?", *d.MatchNumber)
		}
		if err := whereOpen(q, now).Returning("*").Scan(ctx); err != nil {
			return err
		}
		e := d.Event
		event := &eventRow{ID: e.ID, UserID: d.UserID, Kind: e.Kind, Detail: e.Detail, IP: e.IP, UserAgent: e.UserAgent, CreatedAt: ts(e.CreatedAt)}
		if _, err := tx.NewInsert().Model(event).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Model((*deviceRow)(nil)).Set("last_used_at = ?", ts(now)).Where("id = ?", d.DeviceID).Exec(ctx)
		return err
	})
}
