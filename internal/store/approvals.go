package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type approvalRow struct {
	bun.BaseModel `bun:"table:approvals"`

	ID                 string              `bun:"id,pk"`
	UserID             string              `bun:"user_id"`
	Status             core.ApprovalStatus `bun:"status"`
	Channel            core.Channel        `bun:"channel"`
	Reason             string              `bun:"reason"`
	MatchNumber        int                 `bun:"match_number"`
	TicketHash         string              `bun:"ticket_hash"`
	CodeHash           string              `bun:"code_hash"`
	CodeSentAt         *dbTime             `bun:"code_sent_at"`
	Attempts           int                 `bun:"attempts"`
	ExpiresAt          dbTime              `bun:"expires_at"`
	PushSentAt         *dbTime             `bun:"push_sent_at"`
	TimeoutAnnouncedAt *dbTime             `bun:"timeout_announced_at"`
	DecidedAt          *dbTime             `bun:"decided_at"`
	DecidedBy          string              `bun:"decided_by"`
	Method             string              `bun:"method"`
	ExchangedAt        *dbTime             `bun:"exchanged_at"`
	IP                 string              `bun:"ip"`
	UserAgent          string              `bun:"user_agent"`
	CreatedAt          dbTime              `bun:"created_at"`
}

// approvalColumns maps the fields of core.Approval that UpdatePending may
// write to their columns. ID is the key and is not writable.
var approvalColumns = map[string]string{
	"UserID":             "user_id",
	"Status":             "status",
	"Channel":            "channel",
	"Reason":             "reason",
	"MatchNumber":        "match_number",
	"TicketHash":         "ticket_hash",
	"CodeHash":           "code_hash",
	"CodeSentAt":         "code_sent_at",
	"Attempts":           "attempts",
	"ExpiresAt":          "expires_at",
	"PushSentAt":         "push_sent_at",
	"TimeoutAnnouncedAt": "timeout_announced_at",
	"DecidedAt":          "decided_at",
	"DecidedBy":          "decided_by",
	"Method":             "method",
	"ExchangedAt":        "exchanged_at",
	"IP":                 "ip",
	"UserAgent":          "user_agent",
	"CreatedAt":          "created_at",
}

func newApprovalRow(a *core.Approval) *approvalRow {
	return &approvalRow{
		ID:                 a.ID,
		UserID:             a.UserID,
		Status:             a.Status,
		Channel:            a.Channel,
		Reason:             a.Reason,
		MatchNumber:        a.MatchNumber,
		TicketHash:         a.TicketHash,
		CodeHash:           a.CodeHash,
		CodeSentAt:         tsPtr(a.CodeSentAt),
		Attempts:           a.Attempts,
		ExpiresAt:          ts(a.ExpiresAt),
		PushSentAt:         tsPtr(a.PushSentAt),
		TimeoutAnnouncedAt: tsPtr(a.TimeoutAnnouncedAt),
		DecidedAt:          tsPtr(a.DecidedAt),
		DecidedBy:          a.DecidedBy,
		Method:             a.Method,
		ExchangedAt:        tsPtr(a.ExchangedAt),
		IP:                 a.IP,
		UserAgent:          a.UserAgent,
		CreatedAt:          ts(a.CreatedAt),
	}
}

func (r *approvalRow) approval() *core.Approval {
	return &core.Approval{
		ID:                 r.ID,
		UserID:             r.UserID,
		Status:             r.Status,
		Channel:            r.Channel,
		Reason:             r.Reason,
		MatchNumber:        r.MatchNumber,
		TicketHash:         r.TicketHash,
		CodeHash:           r.CodeHash,
		CodeSentAt:         timePtr(r.CodeSentAt),
		Attempts:           r.Attempts,
		ExpiresAt:          r.ExpiresAt.Time,
		PushSentAt:         timePtr(r.PushSentAt),
		TimeoutAnnouncedAt: timePtr(r.TimeoutAnnouncedAt),
		DecidedAt:          timePtr(r.DecidedAt),
		DecidedBy:          r.DecidedBy,
		Method:             r.Method,
		ExchangedAt:        timePtr(r.ExchangedAt),
		IP:                 r.IP,
		UserAgent:          r.UserAgent,
		CreatedAt:          r.CreatedAt.Time,
	}
}

func approvals(rows []approvalRow) []*core.Approval {
	out := make([]*core.Approval, len(rows))
	for i := range rows {
		out[i] = rows[i].approval()
	}
	return out
}

func (db *DB) CreateApproval(ctx context.Context, a *core.Approval) error {
	_, err := db.bun.NewInsert().Model(newApprovalRow(a)).Exec(ctx)
	return dbErr(err)
}

func (db *DB) Approval(ctx context.Context, id string) (*core.Approval, error) {
	var row approvalRow
	if err := db.bun.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFoundOr(err, "approval")
	}
	return row.approval(), nil
}

// wherePending restricts an update to approvals still pending and unexpired
// at now — the one condition every change of a pending approval carries.
func wherePending(q *bun.UpdateQuery, now time.Time) *bun.UpdateQuery {
	return q.Where("status = ?", core.ApprovalPending).Where("expires_at > ?", ts(now))
}

// UpdatePending writes the named fields of a when the stored approval is
// still pending and unexpired at now.
func (db *DB) UpdatePending(ctx context.Context, a *core.Approval, now time.Time, fields ...string) (bool, error) {
	return db.updatePending(ctx, a, now, nil, fields)
}

// ApproveWithCode writes a code's approval, the named fields of a, as
// UpdatePending does, and only while the stored count of code attempts is
// within MaxCodeAttempts: an attempt never counted, or counted past the
// limit, approves nothing.
func (db *DB) ApproveWithCode(ctx context.Context, a *core.Approval, now time.Time, fields ...string) (bool, error) {
	if a.Status != core.ApprovalApproved {
		return false, fmt.Errorf("store: ApproveWithCode of an approval to be %s", a.Status)
	}
	return db.updatePending(ctx, a, now, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Where("attempts <= ?", core.MaxCodeAttempts)
	}, fields)
}

// updatePending writes fields of a, pending and unexpired at now, under
// the further condition also adds (when not nil).
func (db *DB) updatePending(ctx context.Context, a *core.Approval, now time.Time, also func(*bun.UpdateQuery) *bun.UpdateQuery, fields []string) (bool, error) {
	columns, err := approvalColumnsOf(fields)
	if err != nil {
		return false, err
	}
	q := wherePending(db.bun.NewUpdate().Model(newApprovalRow(a)).Column(columns...).Where("id = ?", a.ID), now)
	if also != nil {
		q = also(q)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, dbErr(err)
	}
	n, err := rowsAffected(res)
	return n == 1, err
}

// approvalColumnsOf maps Go field names to columns (approvalColumns).
func approvalColumnsOf(fields []string) ([]string, error) {
	if len(fields) == 0 {
		return nil, fmt.Errorf("store: update of an approval without fields")
	}
	columns := make([]string, len(fields))
	for i, f := range fields {
		c, ok := approvalColumns[f]
		if !ok {
			return nil, fmt.Errorf("store: update of an approval: unknown field %q", f)
		}
		columns[i] = c
	}
	return columns, nil
}

// ReserveApprovalAttempt counts one code attempt before the code is
// compared and returns the new count. Only a pending approval, unexpired at
// now, with fewer than MaxCodeAttempts attempts counted takes one, in one
// conditional update, so concurrent attempts never count past the limit.
// ELocked when every attempt is spent; ENotFound, EExpired or
// EAlreadyDecided when the approval is not pending and unexpired.
func (db *DB) ReserveApprovalAttempt(ctx context.Context, id string, now time.Time) (int, error) {
	var attempts int
	q := db.bun.NewUpdate().Model((*approvalRow)(nil)).
		Set("attempts = attempts + 1").
		Where("id = ?", id).
		Where("attempts < ?", core.MaxCodeAttempts)
	err := wherePending(q, now).Returning("attempts").Scan(ctx, &attempts)
	if err == nil {
		return attempts, nil
	}
	if !isNoRows(err) {
		return 0, dbErr(err)
	}
	a, err := db.Approval(ctx, id)
	if err != nil {
		return 0, err
	}
	switch {
	case a.Status == core.ApprovalExpired || (a.Status == core.ApprovalPending && !now.Before(a.ExpiresAt)):
		return 0, core.Errorf(core.EExpired, "this approval has expired")
	case a.Status == core.ApprovalPending:
		// Every attempt is taken; the last may still be being compared.
		return 0, core.Errorf(core.ELocked, "too many codes were tried for this login; start again")
	}
	return 0, core.Errorf(core.EAlreadyDecided, "this approval was already decided")
}

// SupersedePending denies the user's pending, unexpired approvals that were
// pushed, with reason superseded, and returns them as denied. Pushed, not on the push channel: one that
// fell back to SMS can still be decided by a device, and a new push must
// leave a device only the newest login to approve.
func (db *DB) SupersedePending(ctx context.Context, userID string, now time.Time) ([]*core.Approval, error) {
	var rows []approvalRow
	q := db.bun.NewUpdate().Model((*approvalRow)(nil)).
		Set("status = ?", core.ApprovalDenied).
		Set("reason = ?", core.ReasonSuperseded).
		Set("decided_at = ?", ts(now)).
		Where("user_id = ?", userID).
		Where("push_sent_at IS NOT NULL")
	err := wherePending(q, now).Returning("*").Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return nil, dbErr(err)
	}
	return approvals(rows), nil
}

// ExpireDue marks up to limit pending approvals with expires_at <= now
// expired and returns them. PostgreSQL picks the rows with FOR UPDATE SKIP
// LOCKED, so concurrent callers take disjoint rows; SQLite runs one writer
// at a time. The outer status check keeps a row from being taken twice.
func (db *DB) ExpireDue(ctx context.Context, now time.Time, limit int) ([]*core.Approval, error) {
	due := db.bun.NewSelect().Model((*approvalRow)(nil)).Column("id").
		Where("status = ?", core.ApprovalPending).
		Where("expires_at <= ?", ts(now)).
		OrderExpr("expires_at").Limit(batch(limit))
	return db.takeApprovals(ctx, due, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("status = ?", core.ApprovalExpired).
			Where("status = ?", core.ApprovalPending)
	})
}

// DuePushTimeouts marks up to limit pending, unexpired push approvals whose
// push went out at or before sentBefore as announced, once each.
func (db *DB) DuePushTimeouts(ctx context.Context, sentBefore, now time.Time, limit int) ([]*core.Approval, error) {
	due := db.bun.NewSelect().Model((*approvalRow)(nil)).Column("id").
		Where("status = ?", core.ApprovalPending).
		Where("channel = ?", core.ChannelPush).
		Where("timeout_announced_at IS NULL").
		Where("push_sent_at <= ?", ts(sentBefore)).
		Where("expires_at > ?", ts(now)).
		OrderExpr("push_sent_at").Limit(batch(limit))
	return db.takeApprovals(ctx, due, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		q = q.Set("timeout_announced_at = ?", ts(now)).
			Where("channel = ?", core.ChannelPush).
			Where("timeout_announced_at IS NULL")
		return wherePending(q, now)
	})
}

// batch is the row limit of a sweep; a limit of zero or less means the
// default of 100 rather than "everything".
func batch(limit int) int64 {
	if limit <= 0 {
		return 100
	}
	return int64(limit)
}

// takeApprovals updates the approvals the due query selects, applying
// change (which repeats the conditions, for rows another caller changed in
// the meantime), and returns the rows it changed.
func (db *DB) takeApprovals(ctx context.Context, due *bun.SelectQuery, change func(*bun.UpdateQuery) *bun.UpdateQuery) ([]*core.Approval, error) {
	if db.isPostgres() {
		due = due.For("UPDATE SKIP LOCKED")
	}
	var rows []approvalRow
	q := db.bun.NewUpdate().Model((*approvalRow)(nil)).Where("id IN (?)", due)
	err := change(q).Returning("*").Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return nil, dbErr(err)
	}
	return approvals(rows), nil
}

// MarkExchanged records the one exchange of an approved approval: false when
// it was exchanged before, ENotApproved when it is not approved.
func (db *DB) MarkExchanged(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := db.bun.NewUpdate().Model((*approvalRow)(nil)).
		Set("exchanged_at = ?", ts(now)).
		Where("id = ?", id).
		Where("status = ?", core.ApprovalApproved).
		Where("exchanged_at IS NULL").
		Exec(ctx)
	if err != nil {
		return false, dbErr(err)
	}
	n, err := rowsAffected(res)
	if err != nil || n == 1 {
		return n == 1, err
	}
	a, err := db.Approval(ctx, id)
	if err != nil {
		return false, err
	}
	if a.Status != core.ApprovalApproved {
		return false, core.Errorf(core.ENotApproved, "this approval is not approved")
	}
	return false, nil
}

// PendingForUser lists the user's pending, unexpired approvals, oldest first.
func (db *DB) PendingForUser(ctx context.Context, userID string, now time.Time) ([]*core.Approval, error) {
	var rows []approvalRow
	err := db.bun.NewSelect().Model(&rows).
		Where("user_id = ?", userID).
		Where("status = ?", core.ApprovalPending).
		Where("expires_at > ?", ts(now)).
		OrderExpr("created_at, id").Scan(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	return approvals(rows), nil
}
