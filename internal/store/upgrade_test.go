package store

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// During a rolling upgrade the instances still running read rows of a schema
// a newer instance has migrated: a column they do not know must not fail
// their reads, nor their writes that return the row (RETURNING *).
func TestUnknownColumnsAreSkipped(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		for _, table := range []string{"approvals", "users", "sessions"} {
			if _, err := db.bun.ExecContext(ctx, "ALTER TABLE "+table+" ADD COLUMN from_the_future integer NOT NULL DEFAULT 7"); err != nil {
				t.Fatalf("adding a column to %s: %v", table, err)
			}
		}
		u := verifiedUser(t, db, "")
		if _, err := db.UserByID(ctx, u.ID); err != nil {
			t.Fatalf("reading a user with a newer column: %v", err)
		}
		a := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		if _, err := db.Approval(ctx, a.ID); err != nil {
			t.Fatalf("reading an approval with a newer column: %v", err)
		}
		got, err := db.UpdatePending(ctx, a.ID, t0, core.CodeSent{CodeHash: "h", At: t0})
		if err != nil || got == nil {
			t.Fatalf("a write returning the approval with a newer column: %+v, %v", got, err)
		}
	})
}
