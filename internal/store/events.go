package store

import (
	"context"
	"log/slog"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type eventRow struct {
	bun.BaseModel `bun:"table:security_events"`

	ID        string `bun:"id,pk"`
	UserID    string `bun:"user_id"`
	Kind      string `bun:"kind"`
	Detail    string `bun:"detail"`
	IP        string `bun:"ip"`
	UserAgent string `bun:"user_agent"`
	CreatedAt dbTime `bun:"created_at"`
}

// AddEvent appends to a user's security trail.
func (db *DB) AddEvent(ctx context.Context, e *core.SecurityEvent) error {
	row := &eventRow{ID: e.ID, UserID: e.UserID, Kind: e.Kind, Detail: e.Detail, IP: e.IP, UserAgent: e.UserAgent, CreatedAt: ts(e.CreatedAt)}
	if _, err := db.bun.NewInsert().Model(row).Exec(ctx); err != nil {
		return core.Unavailable("database", err)
	}
	return nil
}

// EventsByUser returns the user's newest events first.
func (db *DB) EventsByUser(ctx context.Context, userID string, limit int) ([]*core.SecurityEvent, error) {
	var rows []eventRow
	err := db.bun.NewSelect().Model(&rows).Where("user_id = ?", userID).
		OrderExpr("created_at DESC, id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, core.Unavailable("database", err)
	}
	out := make([]*core.SecurityEvent, len(rows))
	for i, r := range rows {
		out[i] = &core.SecurityEvent{ID: r.ID, UserID: r.UserID, Kind: r.Kind, Detail: r.Detail, IP: r.IP, UserAgent: r.UserAgent, CreatedAt: r.CreatedAt.Time}
	}
	return out, nil
}

// Auditor records security events in the database. A failure is logged and
// does not fail the action being recorded.
type Auditor struct {
	Events core.SecurityEventStore
	Clock  core.Clock
	Log    *slog.Logger
}

// Record implements core.Auditor, taking IP and user agent from ctx.
func (a *Auditor) Record(ctx context.Context, userID, kind, detail string) {
	if userID == "" {
		return
	}
	e := core.NewSecurityEvent(ctx, userID, kind, detail, a.Clock.Now())
	if err := a.Events.AddEvent(ctx, e); err != nil {
		a.Log.WarnContext(ctx, "security event not recorded", "kind", kind, "user_id", userID, "err", err)
	}
}
