package approval_test

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// openStore is a migrated database of dialect: SQLite in a temporary file,
// or a fresh PostgreSQL database.
func openStore(t *testing.T, dialect string) *store.DB {
	t.Helper()
	url := "sqlite:" + t.TempDir() + "/db"
	if dialect == store.DialectPostgres {
		url = testenv.PostgresURL(t)
	}
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// storedUser creates a verified user in db.
func storedUser(t *testing.T, db *store.DB) *core.User {
	t.Helper()
	ctx := context.Background()
	u := &core.User{ID: core.NewID(core.PrefixUser), Name: "Ada", Phone: testenv.RandomPhone(),
		PasswordHash: "x", TwoFactor: true, CreatedAt: start, UpdatedAt: start}
	v := &core.Verification{ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "x",
		Status: core.VerificationPending, ExpiresAt: start.Add(time.Hour), LastSentAt: start, CreatedAt: start}
	if err := db.CreateSignup(ctx, u, v); err != nil {
		t.Fatal(err)
	}
	verified, err := db.CompleteVerification(ctx, v.ID, start)
	if err != nil {
		t.Fatal(err)
	}
	return verified
}

// TestOfferedToAgreesWithTheStore runs one table through offeredTo, the
// rule the slow path of a callback and the pull listing apply, and through
// the store's guarded decision, the fast path's SQL, on both dialects: a
// device may decide the same approvals whichever path takes its answer.
func TestOfferedToAgreesWithTheStore(t *testing.T) {
	t.Parallel()
	push := start.Add(time.Minute)
	cases := []struct {
		name       string
		channel    core.Channel
		pushSentAt *time.Time
		enrolledAt time.Time
		stranger   bool // the device is another user's
		want       bool
	}{
		{"began on SMS", core.ChannelSMS, nil, start, false, false},
		{"enrolled before the push", core.ChannelPush, &push, push.Add(-time.Minute), false, true},
		{"enrolled 1 µs before the push", core.ChannelPush, &push, push.Add(-time.Microsecond), false, true},
		{"enrolled at the push", core.ChannelPush, &push, push, false, true},
		{"enrolled 1 µs after the push", core.ChannelPush, &push, push.Add(time.Microsecond), false, false},
		{"enrolled after the push", core.ChannelPush, &push, push.Add(time.Minute), false, false},
		{"pushed, then fell back to SMS", core.ChannelSMS, &push, start, false, true},
		{"another user's device", core.ChannelPush, &push, start, true, false},
	}
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openStore(t, dialect)
			u, other := storedUser(t, db), storedUser(t, db)
			now := push.Add(time.Second)
			for _, c := range cases {
				a := &core.Approval{ID: core.NewID(core.PrefixApproval), UserID: u.ID, Status: core.ApprovalPending,
					Channel: c.channel, MatchNumber: 42, TicketHash: "h", ExpiresAt: now.Add(time.Hour),
					PushSentAt: c.pushSentAt, CreatedAt: start}
				ok(t, db.CreateApproval(ctx, a))
				owner := u
				if c.stranger {
					owner = other
				}
				dev := &core.Device{ID: core.NewID(core.PrefixDevice), UserID: owner.ID, Name: "phone",
					PublicKey: core.RandomBytes(32), TOTPSecretEnc: core.RandomBytes(48), CreatedAt: c.enrolledAt}
				ok(t, db.CreateDevice(ctx, dev))

				// The rule in Go, on what the database holds (as the slow path reads it).
				storedA, err := db.Approval(ctx, a.ID)
				ok(t, err)
				storedDev, err := db.Device(ctx, dev.ID)
				ok(t, err)
				inGo := approval.OfferedTo(storedA, storedDev)

				// The rule in SQL: a deny asks for nothing else.
				d := core.DeviceDecision{UserID: dev.UserID, DeviceID: dev.ID,
					Decided: approval.Decision(now, approval.Outcome{Reason: core.ReasonUserDenied, By: dev.ID}),
					Event:   &core.SecurityEvent{ID: core.NewID(core.PrefixEvent), UserID: dev.UserID, Kind: core.EventDenied, CreatedAt: now}}
				decided, err := db.DecideByDevice(ctx, a.ID, now, d)
				ok(t, err)
				inSQL := decided != nil

				if inGo != c.want || inSQL != c.want {
					t.Errorf("%s: offeredTo %v, the store's guard %v; want %v", c.name, inGo, inSQL, c.want)
				}
			}
		})
	}
}
