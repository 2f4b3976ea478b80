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
	AppName            string              `bun:"app_name"`
	Passwordless       string              `bun:"passwordless"`
	CreatedAt          dbTime              `bun:"created_at"`
}

// approvalColumns are the columns of approvalRow but the key, id.
var approvalColumns = []string{
	"user_id", "status", "channel", "reason", "match_number", "ticket_hash", "code_hash", "code_sent_at",
	"attempts", "expires_at", "push_sent_at", "timeout_announced_at", "decided_at", "decided_by", "method",
	"exchanged_at", "ip", "user_agent", "app_name", "passwordless", "created_at",
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
		AppName:            a.AppName,
		Passwordless:       string(a.Passwordless),
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
		AppName:            r.AppName,
		Passwordless:       core.Passwordless(r.Passwordless),
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

// whereOpen restricts an update to approvals still pending and unexpired
// at now (approval.CheckPending's rule) — the one condition every change
// of a pending approval carries.
func whereOpen(q *bun.UpdateQuery, now time.Time) *bun.UpdateQuery {
	return q.Where("status = ?", core.ApprovalPending).Where("expires_at > ?", ts(now))
}

// UpdatePending writes change to approval id while it is open at now.
func (db *DB) UpdatePending(ctx context.Context, id string, now time.Time, change core.ApprovalChange) (*core.Approval, error) {
	return db.updateOpen(ctx, id, now, change, nil)
}

// ApproveWithCode writes a code's approval as UpdatePending does, and only
// while the stored count of code attempts is within MaxCodeAttempts: an
// attempt never counted, or counted past the limit, approves nothing.
func (db *DB) ApproveWithCode(ctx context.Context, id string, now time.Time, d core.Decided) (*core.Approval, error) {
	if d.Status != core.ApprovalApproved {
		return nil, fmt.Errorf("store: ApproveWithCode of an approval to be %s", d.Status)
	}
	return db.updateOpen(ctx, id, now, d, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Where("attempts <= ?", core.MaxCodeAttempts)
	})
}

// updateOpen writes change to approval id, open at now, under the further
// condition also adds (when not nil), and returns the row as written.
func (db *DB) updateOpen(ctx context.Context, id string, now time.Time, change core.ApprovalChange, also func(*bun.UpdateQuery) *bun.UpdateQuery) (*core.Approval, error) {
	var row approvalRow
	q, err := setChange(db.bun.NewUpdate().Model(&row), change)
	if err != nil {
		return nil, err
	}
	q = whereOpen(q.Where("id = ?", id), now)
	if also != nil {
		q = also(q)
	}
	if err := q.Returning("*").Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, nil
		}
		return nil, dbErr(err)
	}
	return row.approval(), nil
}

// setChange sets the columns change writes (core/change.go names them).
func setChange(q *bun.UpdateQuery, change core.ApprovalChange) (*bun.UpdateQuery, error) {
	switch c := change.(type) {
	case core.Decided:
		return setDecided(q, c), nil
	case core.FellBack:
		return q.Set("channel = ?", core.ChannelSMS).Set("reason = ?", c.Reason).Set("expires_at = ?", ts(c.ExpiresAt)), nil
	case core.CodeSent:
		return q.Set("code_hash = ?", c.CodeHash).Set("code_sent_at = ?", ts(c.At)), nil
	}
	return nil, fmt.Errorf("store: unknown approval change %T", change)
}

func setDecided(q *bun.UpdateQuery, d core.Decided) *bun.UpdateQuery {
	return q.Set("status = ?", d.Status).Set("reason = ?", d.Reason).Set("method = ?", d.Method).
		Set("decided_at = ?", ts(d.At)).Set("decided_by = ?", d.By)
}

// ReserveApprovalAttempt takes one of an open approval's MaxCodeAttempts
// in one conditional update and returns the new count; reserved is false
// when none was left or the approval is not open.
func (db *DB) ReserveApprovalAttempt(ctx context.Context, id string, now time.Time) (int, bool, error) {
	var attempts int
	q := db.bun.NewUpdate().Model((*approvalRow)(nil)).
		Set("attempts = attempts + 1").
		Where("id = ?", id).
		Where("attempts < ?", core.MaxCodeAttempts)
	err := whereOpen(q, now).Returning("attempts").Scan(ctx, &attempts)
	switch {
	case err == nil:
		return attempts, true, nil
	case isNoRows(err):
		return 0, false, nil
	}
	return 0, false, dbErr(err)
}

// SupersedePending writes d to the user's open approvals that were pushed
// and returns them as decided. Pushed, not on the push channel: one that
// fell back to SMS can still be decided by a device, and a new push must
// leave a device only the newest login to approve.
func (db *DB) SupersedePending(ctx context.Context, userID string, now time.Time, d core.Decided) ([]*core.Approval, error) {
	var rows []approvalRow
	q := setDecided(db.bun.NewUpdate().Model((*approvalRow)(nil)), d).
		Where("user_id = ?", userID).
		Where("push_sent_at IS NOT NULL")
	err := whereOpen(q, now).Returning("*").Scan(ctx, &rows)
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
		Where("passwordless = ''").
		Where("push_sent_at <= ?", ts(sentBefore)).
		Where("expires_at > ?", ts(now)).
		OrderExpr("push_sent_at").Limit(batch(limit))
	return db.takeApprovals(ctx, due, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		q = q.Set("timeout_announced_at = ?", ts(now)).
			Where("channel = ?", core.ChannelPush).
			Where("timeout_announced_at IS NULL")
		return whereOpen(q, now)
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
