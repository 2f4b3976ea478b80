package store

import (
	"context"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func createApproval(t *testing.T, db *DB, a *core.Approval) *core.Approval {
	t.Helper()
	must(t, db.CreateApproval(context.Background(), a))
	return a
}

func TestApprovalRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		a := newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute))
		a.Reason = core.ReasonNoDevice
		a.CodeHash = "code"
		a.CodeSentAt = ptr(t0.Add(123456 * time.Microsecond))
		a.Attempts = 2
		a.PushSentAt = ptr(t0.Add(time.Microsecond))
		a.AppName = "Grafana"
		createApproval(t, db, a)
		got, err := db.Approval(ctx, a.ID)
		must(t, err)
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("Approval = %+v\nwant       %+v", got, a)
		}
		_, err = db.Approval(ctx, "apr_missing")
		wantCode(t, err, core.ENotFound)
	})
}

// The application signed in to (app_name) comes back from every read and
// from every write that returns the approval: the prepared PostgreSQL
// statement names its columns, the others return them all. An approval
// without one reads "".
func TestApprovalAppName(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		dev := newDevice(u.ID)
		must(t, db.CreateDevice(ctx, dev))
		named := func() *core.Approval {
			a := pushed(newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute)))
			a.AppName = "Grafana — Ops"
			return createApproval(t, db, a)
		}
		plain := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		if got, err := db.Approval(ctx, plain.ID); err != nil || got.AppName != "" {
			t.Fatalf("an approval without an application: %+v, %v", got, err)
		}

		a := named()
		got, err := db.Approval(ctx, a.ID)
		must(t, err)
		if got.AppName != "Grafana — Ops" {
			t.Fatalf("Approval: app %q", got.AppName)
		}
		list, err := db.PendingForUser(ctx, u.ID, t0)
		must(t, err)
		apps := map[string]string{}
		for _, p := range list {
			apps[p.ID] = p.AppName
		}
		if len(apps) != 2 || apps[plain.ID] != "" || apps[a.ID] != "Grafana — Ops" {
			t.Fatalf("PendingForUser: apps by id %v", apps)
		}
		updated, err := db.UpdatePending(ctx, a.ID, t0, core.CodeSent{CodeHash: "h", At: t0})
		must(t, err)
		if updated == nil || updated.AppName != "Grafana — Ops" {
			t.Fatalf("UpdatePending returned %+v", updated)
		}
		right := 42
		decided, err := db.DecideByDevice(ctx, a.ID, t0, core.DeviceDecision{
			Decided: core.Decided{Status: core.ApprovalApproved, Method: core.MethodPush, By: dev.ID, At: t0},
			UserID:  u.ID, DeviceID: dev.ID, MatchNumber: &right,
			Event: &core.SecurityEvent{ID: core.NewID(core.PrefixEvent), UserID: u.ID, Kind: core.EventApproved, Detail: "by push", CreatedAt: t0},
		})
		must(t, err)
		if decided == nil || decided.AppName != "Grafana — Ops" {
			t.Fatalf("DecideByDevice returned %+v", decided)
		}
		b := named()
		superseded, err := db.SupersedePending(ctx, u.ID, t0, core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonSuperseded, At: t0})
		must(t, err)
		if len(superseded) != 1 || superseded[0].ID != b.ID || superseded[0].AppName != "Grafana — Ops" {
			t.Fatalf("SupersedePending returned %+v", superseded)
		}
		c := named()
		expired, err := db.ExpireDue(ctx, c.ExpiresAt, 10)
		must(t, err)
		found := false
		for _, e := range expired {
			if e.ID == c.ID {
				found = e.AppName == "Grafana — Ops"
			}
		}
		if !found {
			t.Fatalf("ExpireDue returned %+v; want %s with its application", expired, c.ID)
		}
	})
}

func TestUpdatePending(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		a := createApproval(t, db, newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute)))

		// A fallback writes the channel, its reason and the new life, and
		// returns the whole approval as written.
		fellBack := core.FellBack{Reason: core.ReasonPushTimeout, ExpiresAt: t0.Add(10 * time.Minute)}
		got, err := db.UpdatePending(ctx, a.ID, t0, fellBack)
		must(t, err)
		want := *a
		want.Channel, want.Reason, want.ExpiresAt = core.ChannelSMS, core.ReasonPushTimeout, fellBack.ExpiresAt
		if got == nil || !reflect.DeepEqual(*got, want) {
			t.Fatalf("after the fallback: %+v\nwant %+v", got, want)
		}
		if stored, _ := db.Approval(ctx, a.ID); !reflect.DeepEqual(stored, got) {
			t.Fatalf("stored %+v, returned %+v", stored, got)
		}

		// A code sent writes its hash and time.
		got, err = db.UpdatePending(ctx, a.ID, t0, core.CodeSent{CodeHash: "h", At: t0.Add(time.Second)})
		must(t, err)
		if got == nil || got.CodeHash != "h" || got.CodeSentAt == nil || !got.CodeSentAt.Equal(t0.Add(time.Second)) || got.Channel != core.ChannelSMS {
			t.Fatalf("after the code: %+v", got)
		}

		// At expires_at it is no longer open; 1 µs before it is.
		approve := core.Decided{Status: core.ApprovalApproved, Method: core.MethodSMS, At: fellBack.ExpiresAt.Add(-time.Microsecond)}
		got, err = db.UpdatePending(ctx, a.ID, fellBack.ExpiresAt, approve)
		must(t, err)
		if got != nil {
			t.Fatal("UpdatePending at expires_at wrote")
		}
		got, err = db.UpdatePending(ctx, a.ID, approve.At, approve)
		must(t, err)
		if got == nil || got.Status != core.ApprovalApproved || got.Method != core.MethodSMS || got.Reason != "" || !got.DecidedAt.Equal(approve.At) {
			t.Fatalf("UpdatePending 1 µs before expires_at: %+v", got)
		}
		// Decided: no further change.
		got, err = db.UpdatePending(ctx, a.ID, t0, core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonUserDenied, At: t0})
		must(t, err)
		if got != nil {
			t.Fatal("UpdatePending changed a decided approval")
		}
		if stored, _ := db.Approval(ctx, a.ID); stored.Status != core.ApprovalApproved || stored.Method != core.MethodSMS {
			t.Fatalf("after decision: %+v", stored)
		}
		if _, err := db.UpdatePending(ctx, a.ID, t0, nil); err == nil {
			t.Fatal("no change accepted")
		}
	})
}

// A guarded update writes only when the approval is pending and unexpired,
// belongs to the user, carries the number (when given) and the user still
// has the device (when given); then it reads the whole approval back.
func TestDecideByDevice(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		stranger := verifiedUser(t, db, "")
		dev := newDevice(u.ID)
		must(t, db.CreateDevice(ctx, dev))
		strangersDev := newDevice(stranger.ID)
		must(t, db.CreateDevice(ctx, strangersDev))
		stored := createApproval(t, db, pushed(newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute))))

		// Every try carries an event, which only the one that decides may
		// write, with the device's last use.
		decide := func(now time.Time, d core.DeviceDecision) (bool, *core.Approval) {
			t.Helper()
			d.Event = &core.SecurityEvent{ID: core.NewID(core.PrefixEvent), UserID: d.UserID, Kind: core.EventApproved, Detail: "by push", IP: "192.0.2.7", UserAgent: "app", CreatedAt: now}
			d.Decided = core.Decided{Status: core.ApprovalApproved, Method: core.MethodPush, By: d.DeviceID, At: now}
			a, err := db.DecideByDevice(ctx, stored.ID, now, d)
			must(t, err)
			return a != nil, a
		}
		right, wrong := 42, 43
		refused := []struct {
			name string
			now  time.Time
			d    core.DeviceDecision
		}{
			{"another user", t0, core.DeviceDecision{UserID: stranger.ID, MatchNumber: &right, DeviceID: strangersDev.ID}},
			{"wrong number", t0, core.DeviceDecision{UserID: u.ID, MatchNumber: &wrong, DeviceID: dev.ID}},
			{"another user's device", t0, core.DeviceDecision{UserID: u.ID, MatchNumber: &right, DeviceID: strangersDev.ID}},
			{"unknown device", t0, core.DeviceDecision{UserID: u.ID, MatchNumber: &right, DeviceID: core.NewID(core.PrefixDevice)}},
			{"expired", t0.Add(2 * time.Minute), core.DeviceDecision{UserID: u.ID, MatchNumber: &right, DeviceID: dev.ID}},
		}
		for _, r := range refused {
			if ok, _ := decide(r.now, r.d); ok {
				t.Fatalf("%s: the decision was written", r.name)
			}
		}
		if got, _ := db.Approval(ctx, stored.ID); got.Status != core.ApprovalPending {
			t.Fatalf("after refusals: %+v", got)
		}
		for _, user := range []string{u.ID, stranger.ID} {
			if evs, err := db.EventsByUser(ctx, user, 10); err != nil || len(evs) != 0 {
				t.Fatalf("refused decisions recorded events: %v, %v", evs, err)
			}
		}
		for _, d := range []*core.Device{dev, strangersDev} {
			if got, err := db.Device(ctx, d.ID); err != nil || got.LastUsedAt != nil {
				t.Fatalf("a refused decision touched a device: %+v, %v", got, err)
			}
		}

		ok, a := decide(t0.Add(time.Second), core.DeviceDecision{UserID: u.ID, MatchNumber: &right, DeviceID: dev.ID})
		if !ok {
			t.Fatal("a decision with every condition met was not written")
		}
		// a is the stored approval, not only the fields written.
		if a.Status != core.ApprovalApproved || a.UserID != u.ID || a.Channel != core.ChannelPush || a.MatchNumber != 42 ||
			a.TicketHash != stored.TicketHash || !a.ExpiresAt.Equal(stored.ExpiresAt) || a.DecidedBy != dev.ID ||
			a.Method != core.MethodPush || a.DecidedAt == nil || !a.DecidedAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("read back: %+v", a)
		}
		if got, _ := db.Approval(ctx, stored.ID); got.Status != core.ApprovalApproved || got.DecidedBy != dev.ID {
			t.Fatalf("stored: %+v", got)
		}
		evs, err := db.EventsByUser(ctx, u.ID, 10)
		must(t, err)
		if len(evs) != 1 || evs[0].UserID != u.ID || evs[0].Kind != core.EventApproved || evs[0].Detail != "by push" ||
			evs[0].IP != "192.0.2.7" || evs[0].UserAgent != "app" || !evs[0].CreatedAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("events after the decision: %+v", evs)
		}
		if got, err := db.Device(ctx, dev.ID); err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("the deciding device's last use: %+v, %v", got, err)
		}
		// A deny (no number) of the decided approval changes nothing.
		if ok, _ := decide(t0.Add(2*time.Second), core.DeviceDecision{UserID: u.ID, DeviceID: dev.ID}); ok {
			t.Fatal("a decided approval was decided again")
		}
		if evs, _ := db.EventsByUser(ctx, u.ID, 10); len(evs) != 1 {
			t.Fatalf("a refused decision after the decision recorded: %+v", evs)
		}
		if _, err := db.DecideByDevice(ctx, a.ID, t0, core.DeviceDecision{UserID: u.ID, DeviceID: dev.ID}); err == nil {
			t.Fatal("a decision without its event accepted")
		}
	})
}

// A deny carries no number: any match number passes.
func TestDecideByDeviceDeny(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		dev := newDevice(u.ID)
		must(t, db.CreateDevice(ctx, dev))
		stored := createApproval(t, db, pushed(newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute))))
		now := t0.Add(time.Second)
		deny := core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonUserDenied, By: dev.ID, At: now}
		e := &core.SecurityEvent{ID: core.NewID(core.PrefixEvent), UserID: u.ID, Kind: core.EventDenied, Detail: core.ReasonUserDenied, CreatedAt: now}
		a, err := db.DecideByDevice(ctx, stored.ID, now, core.DeviceDecision{Decided: deny, UserID: u.ID, DeviceID: dev.ID, Event: e})
		must(t, err)
		ok := a != nil
		if !ok || a.Status != core.ApprovalDenied || a.Reason != core.ReasonUserDenied || a.Method != "" || a.MatchNumber != stored.MatchNumber {
			t.Fatalf("deny: %v, %+v", ok, a)
		}
	})
}

// pushed marks a as pushed at t0, when newDevice's devices were enrolled.
func pushed(a *core.Approval) *core.Approval {
	a.PushSentAt = ptr(t0)
	return a
}

// A device decides only an approval offered to it: pushed, to its user,
// no earlier than the device's enrollment (approval.offeredTo; the table
// that holds the Go rule and this SQL to each other is there).
func TestDecideByDeviceOnlyWhenOffered(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		cases := []struct {
			name       string
			pushSentAt *time.Time
			enrolledAt time.Time
			offered    bool
		}{
			{"began on SMS", nil, t0, false},
			{"enrolled before the push", ptr(t0.Add(time.Microsecond)), t0, true},
			{"enrolled at the push", ptr(t0), t0, true},
			{"enrolled 1 µs after the push", ptr(t0), t0.Add(time.Microsecond), false},
			{"enrolled long after the push", ptr(t0), t0.Add(time.Minute), false},
		}
		for _, c := range cases {
			for _, approve := range []bool{false, true} {
				a := newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute))
				a.PushSentAt = c.pushSentAt
				createApproval(t, db, a)
				dev := newDevice(u.ID)
				dev.CreatedAt = c.enrolledAt
				must(t, db.CreateDevice(ctx, dev))
				now := t0.Add(2 * time.Minute)
				d := core.DeviceDecision{UserID: u.ID, DeviceID: dev.ID,
					Event: &core.SecurityEvent{ID: core.NewID(core.PrefixEvent), UserID: u.ID, Kind: core.EventDenied, CreatedAt: now}}
				d.Decided = core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonUserDenied, By: dev.ID, At: now}
				if approve {
					d.MatchNumber = &a.MatchNumber
					d.Decided = core.Decided{Status: core.ApprovalApproved, Method: core.MethodPush, By: dev.ID, At: now}
				}
				decided, err := db.DecideByDevice(ctx, a.ID, now, d)
				must(t, err)
				if ok := decided != nil; ok != c.offered {
					t.Errorf("%s (approve %v): decided %v, want %v", c.name, approve, decided != nil, c.offered)
				}
				if got, _ := db.Approval(ctx, a.ID); (got.Status == core.ApprovalPending) == c.offered {
					t.Errorf("%s (approve %v): stored status %s", c.name, approve, got.Status)
				}
			}
		}
	})
}

// A number no browser shows never reaches the comparison: 0 is what an
// approval that began on SMS holds.
func TestDecideByDeviceRefusesNumbersNeverShown(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		dev := newDevice(u.ID)
		must(t, db.CreateDevice(ctx, dev))
		a := newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute))
		a.MatchNumber = 0
		createApproval(t, db, pushed(a))
		for _, n := range []int{0, 9, 100, -1} {
			e := &core.SecurityEvent{ID: core.NewID(core.PrefixEvent), UserID: u.ID, Kind: core.EventApproved, CreatedAt: t0}
			approve := core.Decided{Status: core.ApprovalApproved, Method: core.MethodPush, By: dev.ID, At: t0}
			if got, err := db.DecideByDevice(ctx, a.ID, t0, core.DeviceDecision{Decided: approve, UserID: u.ID, DeviceID: dev.ID, MatchNumber: &n, Event: e}); got != nil || err == nil {
				t.Fatalf("match number %d: decided %+v, error %v; want an error", n, got, err)
			}
		}
		if got, _ := db.Approval(ctx, a.ID); got.Status != core.ApprovalPending {
			t.Fatalf("status %s, want pending", got.Status)
		}
	})
}

// Many deciders at once: exactly one conditional update wins, and the stored
// decision is the winner's.
func TestUpdatePendingOneWinner(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		a := createApproval(t, db, newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute)))
		const n = 24
		won := make([]bool, n)
		errs := make([]error, n)
		deciders := make([]string, n)
		concurrently(n, func(i int) {
			d := core.Decided{Status: core.ApprovalApproved, Method: core.MethodPush, By: core.NewID(core.PrefixDevice), At: t0.Add(time.Second)}
			deciders[i] = d.By
			written, err := db.UpdatePending(ctx, a.ID, t0.Add(time.Second), d)
			won[i], errs[i] = written != nil, err
		})
		winner := -1
		for i := range n {
			must(t, errs[i])
			if won[i] {
				if winner >= 0 {
					t.Fatalf("deciders %d and %d both won", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatal("no decider won")
		}
		got, _ := db.Approval(ctx, a.ID)
		if got.DecidedBy != deciders[winner] {
			t.Fatalf("stored decider %s, winner %s", got.DecidedBy, deciders[winner])
		}
	})
}

func TestReserveApprovalAttempt(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		a := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		reserve := func(now time.Time) (int, bool) {
			t.Helper()
			n, reserved, err := db.ReserveApprovalAttempt(ctx, a.ID, now)
			must(t, err)
			return n, reserved
		}
		if _, reserved := reserve(a.ExpiresAt); reserved {
			t.Fatal("an attempt was taken at expires_at")
		}
		for want := 1; want <= core.MaxCodeAttempts; want++ {
			if n, reserved := reserve(t0); !reserved || n != want {
				t.Fatalf("attempts = %d (%v), want %d", n, reserved, want)
			}
		}
		// Every attempt is taken: none more, and the count stays.
		if _, reserved := reserve(t0); reserved {
			t.Fatal("an attempt past the limit was taken")
		}
		if got, _ := db.Approval(ctx, a.ID); got.Attempts != core.MaxCodeAttempts || got.Status != core.ApprovalPending {
			t.Fatalf("after a refused attempt: %s with %d attempts", got.Status, got.Attempts)
		}
		denied := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		if got, err := db.UpdatePending(ctx, denied.ID, t0, core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonUserDenied, At: t0}); err != nil || got == nil {
			t.Fatalf("deny: %v %v", got, err)
		}
		if _, reserved, err := db.ReserveApprovalAttempt(ctx, denied.ID, t0); reserved || err != nil {
			t.Fatalf("on a decided approval: reserved %v, %v", reserved, err)
		}
		if _, reserved, err := db.ReserveApprovalAttempt(ctx, "apr_missing", t0); reserved || err != nil {
			t.Fatalf("on no approval: reserved %v, %v", reserved, err)
		}
	})
}

// Forty attempts at once on one approval: exactly MaxCodeAttempts are
// counted, once each, and every other one is refused.
func TestConcurrentApprovalAttemptsStopAtTheLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		a := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		const n = 40
		counts := make([]int, n)
		errs := make([]error, n)
		reserved := make([]bool, n)
		concurrently(n, func(i int) { counts[i], reserved[i], errs[i] = db.ReserveApprovalAttempt(ctx, a.ID, t0) })
		var got []int
		for i := range n {
			must(t, errs[i])
			if reserved[i] {
				got = append(got, counts[i])
			}
		}
		sort.Ints(got)
		if !reflect.DeepEqual(got, []int{1, 2, 3, 4, 5}) {
			t.Fatalf("reserved counts %v; want 1..%d once each, the rest locked", got, core.MaxCodeAttempts)
		}
		if stored, _ := db.Approval(ctx, a.ID); stored.Attempts != core.MaxCodeAttempts {
			t.Fatalf("stored attempts %d, want %d", stored.Attempts, core.MaxCodeAttempts)
		}
	})
}

// A code approves only while the count of attempts is within the limit:
// the last attempt's right code approves, a count past it never does.
func TestApproveWithCodeWithinTheLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		approve := func(a *core.Approval) (bool, error) {
			written, err := db.ApproveWithCode(ctx, a.ID, t0, core.Decided{Status: core.ApprovalApproved, Method: core.MethodSMS, At: t0})
			return written != nil, err
		}

		past := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		setAttempts(t, db, past.ID, core.MaxCodeAttempts+1)
		ok, err := approve(past)
		must(t, err)
		if ok {
			t.Fatalf("approved with %d attempts counted", core.MaxCodeAttempts+1)
		}
		if got, _ := db.Approval(ctx, past.ID); got.Status != core.ApprovalPending {
			t.Fatalf("status %s after a refused approval", got.Status)
		}

		last := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		for range core.MaxCodeAttempts {
			_, _, err := db.ReserveApprovalAttempt(ctx, last.ID, t0)
			must(t, err)
		}
		ok, err = approve(last)
		must(t, err)
		if !ok {
			t.Fatalf("the right code on attempt %d did not approve", core.MaxCodeAttempts)
		}
		if got, _ := db.Approval(ctx, last.ID); got.Status != core.ApprovalApproved || got.Method != core.MethodSMS {
			t.Fatalf("after approval: %+v", got)
		}

		denied := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, t0.Add(10*time.Minute)))
		if _, err := db.ApproveWithCode(ctx, denied.ID, t0, core.Decided{Status: core.ApprovalDenied, At: t0}); err == nil {
			t.Fatal("ApproveWithCode wrote a denial")
		}
	})
}

func TestSupersedePending(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		other := verifiedUser(t, db, "")
		exp := t0.Add(2 * time.Minute)
		p1 := createApproval(t, db, pushed(newApproval(u.ID, core.ChannelPush, exp)))
		p2 := createApproval(t, db, pushed(newApproval(u.ID, core.ChannelPush, exp)))
		// Pushed, then fallen back to SMS: a device may still approve it.
		fellBack := createApproval(t, db, pushed(newApproval(u.ID, core.ChannelSMS, exp)))
		sms := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, exp)) // never pushed
		foreign := createApproval(t, db, pushed(newApproval(other.ID, core.ChannelPush, exp)))

		supersede := core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonSuperseded, At: t0}
		superseded, err := db.SupersedePending(ctx, u.ID, t0, supersede)
		must(t, err)
		want := []string{p1.ID, p2.ID, fellBack.ID}
		sort.Strings(want)
		if ids := approvalIDs(superseded); !reflect.DeepEqual(ids, want) {
			t.Fatalf("superseded %v, want %v", ids, want)
		}
		for _, a := range superseded {
			got, _ := db.Approval(ctx, a.ID)
			if got.Status != core.ApprovalDenied || got.Reason != core.ReasonSuperseded || got.DecidedAt == nil || !reflect.DeepEqual(got, a) {
				t.Fatalf("superseded approval: %+v, returned %+v", got, a)
			}
		}
		for _, a := range []*core.Approval{sms, foreign} {
			if got, _ := db.Approval(ctx, a.ID); got.Status != core.ApprovalPending {
				t.Fatalf("%s is %s, want pending", a.ID, got.Status)
			}
		}
		superseded, err = db.SupersedePending(ctx, u.ID, t0, supersede)
		must(t, err)
		if len(superseded) != 0 {
			t.Fatalf("second SupersedePending = %v", approvalIDs(superseded))
		}
	})
}

func TestExpireDueBoundaries(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		now := t0.Add(2 * time.Minute)
		before := createApproval(t, db, newApproval(u.ID, core.ChannelPush, now.Add(-time.Microsecond)))
		at := createApproval(t, db, newApproval(u.ID, core.ChannelSMS, now))
		after := createApproval(t, db, newApproval(u.ID, core.ChannelPush, now.Add(time.Microsecond)))
		decided := newApproval(u.ID, core.ChannelPush, now.Add(-time.Minute))
		decided.Status = core.ApprovalApproved
		createApproval(t, db, decided)

		// 1 ns before now is still before now: times are truncated to
		// microseconds, never rounded up.
		got, err := db.ExpireDue(ctx, now.Add(-time.Nanosecond), 10)
		must(t, err)
		if ids := approvalIDs(got); !reflect.DeepEqual(ids, []string{before.ID}) {
			t.Fatalf("ExpireDue(now-1ns) = %v, want [%s]", ids, before.ID)
		}
		got, err = db.ExpireDue(ctx, now, 10)
		must(t, err)
		if ids := approvalIDs(got); !reflect.DeepEqual(ids, []string{at.ID}) {
			t.Fatalf("ExpireDue(now) = %v, want [%s]", ids, at.ID)
		}
		if got[0].Status != core.ApprovalExpired || !got[0].ExpiresAt.Equal(now) {
			t.Fatalf("returned approval: %+v", got[0])
		}
		if a, _ := db.Approval(ctx, after.ID); a.Status != core.ApprovalPending {
			t.Fatalf("approval expiring 1 µs after now is %s", a.Status)
		}
		if a, _ := db.Approval(ctx, decided.ID); a.Status != core.ApprovalApproved {
			t.Fatalf("decided approval became %s", a.Status)
		}
		pending, err := db.PendingForUser(ctx, u.ID, now)
		must(t, err)
		if ids := approvalIDs(pending); !reflect.DeepEqual(ids, []string{after.ID}) {
			t.Fatalf("PendingForUser = %v, want [%s]", ids, after.ID)
		}
		got, err = db.ExpireDue(ctx, now, 10)
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("second ExpireDue returned %d", len(got))
		}
	})
}

// Sweepers of several instances running at once each take disjoint rows, and
// together all of them.
func TestExpireDueConcurrentOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		u := verifiedUser(t, db, "")
		var want []string
		for i := range 60 {
			a := createApproval(t, db, newApproval(u.ID, core.ChannelPush, t0.Add(time.Duration(i)*time.Microsecond)))
			want = append(want, a.ID)
		}
		got := sweepConcurrently(t, func(ctx context.Context) ([]*core.Approval, error) {
			return db.ExpireDue(ctx, t0.Add(time.Minute), 7)
		})
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("swept %d ids (%d unique wanted)", len(got), len(want))
		}
	})
}

func TestDuePushTimeouts(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		exp := t0.Add(2 * time.Minute)
		sentBefore := t0.Add(30 * time.Second)
		now := sentBefore.Add(time.Second)

		due := newApproval(u.ID, core.ChannelPush, exp)
		due.PushSentAt = ptr(sentBefore)
		createApproval(t, db, due)
		late := newApproval(u.ID, core.ChannelPush, exp)
		late.PushSentAt = ptr(sentBefore.Add(time.Microsecond))
		createApproval(t, db, late)
		createApproval(t, db, newApproval(u.ID, core.ChannelPush, exp)) // no push sent
		sms := newApproval(u.ID, core.ChannelSMS, exp)
		sms.PushSentAt = ptr(t0)
		createApproval(t, db, sms)
		expired := newApproval(u.ID, core.ChannelPush, now)
		expired.PushSentAt = ptr(t0)
		createApproval(t, db, expired)

		got, err := db.DuePushTimeouts(ctx, sentBefore, now, 10)
		must(t, err)
		if ids := approvalIDs(got); !reflect.DeepEqual(ids, []string{due.ID}) {
			t.Fatalf("DuePushTimeouts = %v, want [%s]", ids, due.ID)
		}
		if got[0].TimeoutAnnouncedAt == nil || !got[0].TimeoutAnnouncedAt.Equal(now) || got[0].Status != core.ApprovalPending {
			t.Fatalf("announced approval: %+v", got[0])
		}
		got, err = db.DuePushTimeouts(ctx, sentBefore, now, 10)
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("announced again: %v", approvalIDs(got))
		}
	})
}

func TestDuePushTimeoutsConcurrentOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		u := verifiedUser(t, db, "")
		var want []string
		for i := range 60 {
			a := newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute))
			a.PushSentAt = ptr(t0.Add(time.Duration(i) * time.Microsecond))
			createApproval(t, db, a)
			want = append(want, a.ID)
		}
		got := sweepConcurrently(t, func(ctx context.Context) ([]*core.Approval, error) {
			return db.DuePushTimeouts(ctx, t0.Add(30*time.Second), t0.Add(31*time.Second), 7)
		})
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("swept %d ids (%d unique wanted)", len(got), len(want))
		}
	})
}

// sweepConcurrently runs sweep from 4 goroutines until each gets an empty
// batch and returns every id returned, sorted (duplicates kept).
func sweepConcurrently(t *testing.T, sweep func(context.Context) ([]*core.Approval, error)) []string {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	errs := make([]error, 4)
	concurrently(4, func(i int) {
		for {
			batch, err := sweep(context.Background())
			if err != nil {
				errs[i] = err
				return
			}
			if len(batch) == 0 {
				return
			}
			mu.Lock()
			ids = append(ids, approvalIDs(batch)...)
			mu.Unlock()
		}
	})
	for _, err := range errs {
		must(t, err)
	}
	sort.Strings(ids)
	return ids
}

func TestMarkExchangedOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		a := createApproval(t, db, newApproval(u.ID, core.ChannelPush, t0.Add(2*time.Minute)))
		_, err := db.MarkExchanged(ctx, a.ID, t0)
		wantCode(t, err, core.ENotApproved)

		if got, err := db.UpdatePending(ctx, a.ID, t0, core.Decided{Status: core.ApprovalApproved, Method: core.MethodPush, At: t0}); err != nil || got == nil {
			t.Fatalf("approve: %v %v", got, err)
		}
		const n = 10
		won := make([]bool, n)
		errs := make([]error, n)
		// Exchanging happens after the approval's own expiry too.
		concurrently(n, func(i int) { won[i], errs[i] = db.MarkExchanged(ctx, a.ID, a.ExpiresAt.Add(time.Second)) })
		count := 0
		for i := range n {
			must(t, errs[i])
			if won[i] {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("exchanged %d times, want once", count)
		}
		got, _ := db.Approval(ctx, a.ID)
		if got.ExchangedAt == nil || !got.ExchangedAt.Equal(a.ExpiresAt.Add(time.Second)) {
			t.Fatalf("ExchangedAt = %v", got.ExchangedAt)
		}
		_, err = db.MarkExchanged(ctx, "apr_missing", t0)
		wantCode(t, err, core.ENotFound)
	})
}

func approvalIDs(as []*core.Approval) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	sort.Strings(ids)
	return ids
}

// setAttempts sets an approval's count of code attempts as no transition
// does.
func setAttempts(t *testing.T, db *DB, id string, n int) {
	t.Helper()
	_, err := db.bun.NewUpdate().Model((*approvalRow)(nil)).Set("attempts = ?", n).Where("id = ?", id).Exec(context.Background())
	must(t, err)
}
