package approval_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
)

// rawPushes keeps each push body as the device receives it, by push URL.
type rawPushes struct {
	mu     sync.Mutex
	bodies map[string][]byte
}

func (r *rawPushes) send(_ context.Context, url string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies[url] = payload
	return nil
}

// startFor starts a login of u that signs in to app.
func (f *fixture) startFor(t *testing.T, u *core.User, app string) *approval.Started {
	t.Helper()
	st, err := f.svc.Start(context.Background(), u, approval.StartInput{IP: "203.0.113.7", UserAgent: "test-browser", AppName: app})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return st
}

// trail is the user's security events by kind (the newest of each).
func (f *fixture) trail(t *testing.T, userID string) map[string]string {
	t.Helper()
	evs, err := f.db.EventsByUser(context.Background(), userID, 50)
	ok(t, err)
	out := map[string]string{}
	for i := len(evs) - 1; i >= 0; i-- {
		out[evs[i].Kind] = evs[i].Detail
	}
	return out
}

// TestStartNamesTheApplication: a login to another application keeps its
// name with the approval, and everything that shows the login names it:
// the signed push (as "app"), the pull listing, the reader's view and the
// websocket's state frame, and the trail entries the login writes.
func TestStartNamesTheApplication(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	puller, _ := f.device(t, u, "")
	pushes := &rawPushes{bodies: map[string][]byte{}}
	f.pusher.send = pushes.send

	st := f.startFor(t, u, "Grafana")
	if a := f.stored(t, st.Approval.ID); a.AppName != "Grafana" || st.Approval.AppName != "Grafana" {
		t.Fatalf("stored app %q, started app %q; want Grafana", a.AppName, st.Approval.AppName)
	}
	f.svc.Deliver(ctx, st)

	body := pushes.bodies[d.PushURL]
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil || fields["app"] != "Grafana" {
		t.Fatalf("push body %s (%v); want \"app\": \"Grafana\"", body, err)
	}
	list, err := f.svc.Pending(ctx, puller)
	ok(t, err)
	if len(list) != 1 || list[0].App != "Grafana" {
		t.Fatalf("pull listing %+v; want the approval with its app", list)
	}
	if v := approval.ViewAt(st.Approval, f.clock.Now()); v.AppName != "Grafana" {
		t.Fatalf("view %+v; want the app", v)
	}
	if fr := approval.StateFrame(st.Approval, f.clock.Now()); fr.App != "Grafana" {
		t.Fatalf("state frame %+v; want the app", fr)
	}

	// The decision's frame names it too: the waiting browser keeps its title.
	f.follow(t, st.Approval.ID)
	f.clock.Advance(time.Second)
	_, err = f.callback(t, ctx, d, approval.Callback{ApprovalID: st.Approval.ID, Decision: "approve", MatchNumber: &st.Approval.MatchNumber})
	ok(t, err)
	approved := statusFrame(core.ApprovalApproved, "")
	approved.App = "Grafana"
	f.wantFrames(t, published{st.Approval.ID, approved})

	trail := f.trail(t, u.ID)
	if got := trail[core.EventLoginStarted]; got != "second factor by push, sign in to Grafana" {
		t.Errorf("login_started detail %q", got)
	}
	if got := trail[core.EventPushSent]; got != d.Name+", sign in to Grafana" {
		t.Errorf("push_sent detail %q", got)
	}
}

// TestStartForApprovaldItselfNamesNoApplication: without an application
// the push has no "app" key, frames none, and the trail reads as before.
func TestStartForApprovaldItselfNamesNoApplication(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	pushes := &rawPushes{bodies: map[string][]byte{}}
	f.pusher.send = pushes.send

	st := f.start(t, u)
	f.svc.Deliver(context.Background(), st)

	body := pushes.bodies[d.PushURL]
	if len(body) == 0 || strings.Contains(string(body), `"app"`) {
		t.Fatalf("push body %s; want one without \"app\"", body)
	}
	if b, _ := json.Marshal(approval.StateFrame(st.Approval, f.clock.Now())); strings.Contains(string(b), `"app"`) {
		t.Fatalf("state frame %s; want none without \"app\"", b)
	}
	if got := f.trail(t, u.ID)[core.EventLoginStarted]; got != "second factor by push" {
		t.Errorf("login_started detail %q", got)
	}
}

// TestStartCleansTheApplicationName: what reaches a phone, a terminal and
// the trail is a bounded name without control characters, whatever the
// caller passed.
func TestStartCleansTheApplicationName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user(t)
	st := f.startFor(t, u, " Graf\x1b[2Jana\u202e\n"+strings.Repeat("x", 200))
	a := f.stored(t, st.Approval.ID)
	if want := "Graf[2Jana" + strings.Repeat("x", core.MaxAppName-len("Graf[2Jana")); a.AppName != want {
		t.Fatalf("stored app %q; want %q", a.AppName, want)
	}
	// An SMS login (no device) names it in its trail entry too.
	if got := f.trail(t, u.ID)[core.EventLoginStarted]; got != "second factor by sms, sign in to "+a.AppName {
		t.Errorf("login_started detail %q", got)
	}
}
