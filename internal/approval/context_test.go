package approval_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/clientcontext"
	"github.com/approvald/approvald/internal/clientcontext/geotest"
)

const firefoxOnLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// TestPushCarriesTheContext: the signed push and the pull listing say, in
// words, where the login comes from: the place of its address (GEOIP_DB),
// its browser and OS, and the application, with the summary ready to show.
func TestPushCarriesTheContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	loc, err := clientcontext.OpenLocator(geotest.CityDB(t))
	ok(t, err)
	t.Cleanup(func() { _ = loc.Close() })
	f.svc.Locator = loc
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	puller, _ := f.device(t, u, "")
	pushes := &rawPushes{bodies: map[string][]byte{}}
	f.pusher.send = pushes.send

	st, err := f.svc.Start(ctx, u, approval.StartInput{IP: geotest.BerlinIP, UserAgent: firefoxOnLinux, AppName: "Grafana"})
	ok(t, err)
	f.svc.Deliver(ctx, st)

	var body struct {
		Context map[string]string `json:"context"`
	}
	if err := json.Unmarshal(pushes.bodies[d.PushURL], &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"browser": "Firefox", "os": "Linux", "location": "Berlin, Germany",
		"summary": "near Berlin, Germany · Firefox on Linux · Grafana",
	}
	if len(body.Context) != len(want) {
		t.Fatalf("push context %v; want %v", body.Context, want)
	}
	for k, v := range want {
		if body.Context[k] != v {
			t.Fatalf("push context %v; want %v", body.Context, want)
		}
	}
	list, err := f.svc.Pending(ctx, puller)
	ok(t, err)
	if len(list) != 1 || list[0].Context == nil || list[0].Context.Summary != want["summary"] {
		t.Fatalf("pull listing %+v; want the context", list)
	}
}

// TestPushContextLeavesOutWhatIsUnknown: without a database there is no
// location, and a client that names no browser (a script) with no
// application gives no context at all.
func TestPushContextLeavesOutWhatIsUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t)
	d, _ := f.device(t, u, "https://push.example/1")
	pushes := &rawPushes{bodies: map[string][]byte{}}
	f.pusher.send = pushes.send

	st, err := f.svc.Start(ctx, u, approval.StartInput{IP: geotest.BerlinIP, UserAgent: firefoxOnLinux})
	ok(t, err)
	f.svc.Deliver(ctx, st)
	var fields map[string]json.RawMessage
	ok(t, json.Unmarshal(pushes.bodies[d.PushURL], &fields))
	if got := string(fields["context"]); got != `{"browser":"Firefox","os":"Linux","summary":"Firefox on Linux"}` {
		t.Fatalf("push context %s; want browser, OS and summary only", got)
	}

	st, err = f.svc.Start(ctx, u, approval.StartInput{IP: "203.0.113.7", UserAgent: "curl/8.5.0"})
	ok(t, err)
	f.svc.Deliver(ctx, st)
	fields = nil
	ok(t, json.Unmarshal(pushes.bodies[d.PushURL], &fields))
	if _, there := fields["context"]; there {
		t.Fatalf("push body %s; want no context for curl", pushes.bodies[d.PushURL])
	}
}
