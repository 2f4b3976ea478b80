package approval_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/store"
)

// guardedTransition is one transition the store writes under an SQL guard,
// beside the rule in Go that the guard must repeat.
type guardedTransition struct {
	name string
	// rule says whether the transition may happen to a at now.
	rule func(a *core.Approval, now time.Time) bool
	// write runs the transition on the stored approvals and returns the ids
	// it changed.
	write func(t *testing.T, db *store.DB, userID string, ids []string, now time.Time) map[string]bool
}

// pushTimeoutAfter is the PUSH_TIMEOUT of the table below.
const pushTimeoutAfter = 30 * time.Second

var guardedTransitions = []guardedTransition{
	{"UpdatePending (every change of an open approval)",
		func(a *core.Approval, now time.Time) bool { return approval.CheckPending(a, now) == nil },
		eachID(func(ctx context.Context, db *store.DB, id string, now time.Time) (bool, error) {
			a, err := db.UpdatePending(ctx, id, now, core.FellBack{Reason: core.ReasonRequested, ExpiresAt: now.Add(time.Hour)})
			return a != nil, err
		})},
	{"ApproveWithCode",
		func(a *core.Approval, now time.Time) bool {
			return approval.CheckPending(a, now) == nil && a.Attempts <= core.MaxCodeAttempts
		},
		eachID(func(ctx context.Context, db *store.DB, id string, now time.Time) (bool, error) {
			a, err := db.ApproveWithCode(ctx, id, now, core.Decided{Status: core.ApprovalApproved, Method: core.MethodSMS, At: now})
			return a != nil, err
		})},
	{"ReserveApprovalAttempt",
		func(a *core.Approval, now time.Time) bool {
			return approval.CheckPending(a, now) == nil && a.Attempts < core.MaxCodeAttempts
		},
		eachID(func(ctx context.Context, db *store.DB, id string, now time.Time) (bool, error) {
			_, reserved, err := db.ReserveApprovalAttempt(ctx, id, now)
			return reserved, err
		})},
	{"SupersedePending", approval.Supersedable,
		func(t *testing.T, db *store.DB, userID string, _ []string, now time.Time) map[string]bool {
			got, err := db.SupersedePending(context.Background(), userID, now, approval.Supersede(now))
			ok(t, err)
			return idSet(got)
		}},
	{"ExpireDue", approval.ExpireDue,
		func(t *testing.T, db *store.DB, _ string, ids []string, now time.Time) map[string]bool {
			got, err := db.ExpireDue(context.Background(), now, len(ids)+1)
			ok(t, err)
			return idSet(got)
		}},
	{"DuePushTimeouts",
		func(a *core.Approval, now time.Time) bool {
			return approval.PushTimeoutDue(a, now.Add(-pushTimeoutAfter), now)
		},
		func(t *testing.T, db *store.DB, _ string, ids []string, now time.Time) map[string]bool {
			got, err := db.DuePushTimeouts(context.Background(), now.Add(-pushTimeoutAfter), now, len(ids)+1)
			ok(t, err)
			return idSet(got)
		}},
}

func eachID(write func(ctx context.Context, db *store.DB, id string, now time.Time) (bool, error)) func(*testing.T, *store.DB, string, []string, time.Time) map[string]bool {
	return func(t *testing.T, db *store.DB, _ string, ids []string, now time.Time) map[string]bool {
		changed := map[string]bool{}
		for _, id := range ids {
			done, err := write(context.Background(), db, id, now)
			ok(t, err)
			if done {
				changed[id] = true
			}
		}
		return changed
	}
}

func idSet(list []*core.Approval) map[string]bool {
	set := map[string]bool{}
	for _, a := range list {
		set[a.ID] = true
	}
	return set
}

// guardCases is every combination of what the guards look at, as seen at
// now: status, expiry, channel, push time against the push timeout,
// whether the timeout was announced, and the count of code attempts.
func guardCases(userID string, now time.Time) []*core.Approval {
	sentBefore := now.Add(-pushTimeoutAfter)
	var out []*core.Approval
	for _, status := range []core.ApprovalStatus{core.ApprovalPending, core.ApprovalApproved, core.ApprovalDenied, core.ApprovalExpired} {
		for _, expiresAt := range []time.Time{now.Add(-time.Microsecond), now, now.Add(time.Microsecond)} {
			for _, channel := range []core.Channel{core.ChannelPush, core.ChannelSMS} {
				for _, pushed := range []*time.Time{nil, ptr(sentBefore.Add(-time.Minute)), ptr(sentBefore), ptr(sentBefore.Add(time.Microsecond))} {
					for _, announced := range []*time.Time{nil, ptr(sentBefore)} {
						for _, attempts := range []int{0, core.MaxCodeAttempts - 1, core.MaxCodeAttempts, core.MaxCodeAttempts + 1} {
							out = append(out, &core.Approval{
								ID: core.NewID(core.PrefixApproval), UserID: userID, Status: status, Channel: channel,
								MatchNumber: 42, TicketHash: "h", Attempts: attempts, ExpiresAt: expiresAt,
								PushSentAt: pushed, TimeoutAnnouncedAt: announced, CreatedAt: now.Add(-time.Hour),
							})
						}
					}
				}
			}
		}
	}
	return out
}

func describe(a *core.Approval, now time.Time) string {
	pushed := "never pushed"
	if a.PushSentAt != nil {
		pushed = fmt.Sprintf("pushed %v before now", now.Sub(*a.PushSentAt))
	}
	return fmt.Sprintf("%s on %s, expires %v from now, %s, announced %v, %d attempts",
		a.Status, a.Channel, a.ExpiresAt.Sub(now), pushed, a.TimeoutAnnouncedAt != nil, a.Attempts)
}

// TestGuardsAgreeWithTheStore runs every guarded transition over every
// combination of what its guard reads, on both databases, and holds the SQL
// guard to the rule in Go: the store changes exactly the approvals the rule
// allows. (TestOfferedToAgreesWithTheStore does the same for a device's
// decision.)
func TestGuardsAgreeWithTheStore(t *testing.T) {
	t.Parallel()
	now := start.Add(time.Hour)
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		for _, tr := range guardedTransitions {
			t.Run(dialect+"/"+tr.name, func(t *testing.T) {
				t.Parallel()
				db := openStore(t, dialect)
				u := storedUser(t, db)
				cases := guardCases(u.ID, now)
				ids := make([]string, len(cases))
				for i, a := range cases {
					ok(t, db.CreateApproval(context.Background(), a))
					ids[i] = a.ID
				}
				changed := tr.write(t, db, u.ID, ids, now)
				allowed := 0
				for _, a := range cases {
					want := tr.rule(a, now)
					if want {
						allowed++
					}
					if changed[a.ID] != want {
						t.Errorf("%s: the store changed it: %v; the rule allows it: %v", describe(a, now), changed[a.ID], want)
					}
				}
				if allowed == 0 || allowed == len(cases) {
					t.Fatalf("the rule allows %d of %d cases: the table does not test the guard", allowed, len(cases))
				}
			})
		}
	}
}
