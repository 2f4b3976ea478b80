package metrics_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	dto "github.com/prometheus/client_model/go"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/metrics"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/sms"
	"github.com/approvald/approvald/internal/store"
)

// sample returns the value of the series name{labels} (a counter or gauge
// value, or a histogram's count), and whether it exists.
func sample(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if !hasLabels(s, labels) {
				continue
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue(), true
			case s.Gauge != nil:
				return s.Gauge.GetValue(), true
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func hasLabels(s *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range s.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func mustSample(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := sample(t, m, name, labels)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

func TestNilMetricsRecordNothingAndWrapNothing(t *testing.T) {
	var m *metrics.Metrics
	m.WebsocketOpened()
	m.WebsocketClosed()
	m.DecisionWritten(time.Now())
	m.WatchHub(func() uint64 { return 0 }, func() int { return 0 })
	if m.Registry() != nil {
		t.Fatal("a nil Metrics has a registry")
	}
	sender := sms.NewConsole(io.Discard)
	if got := m.SMS(sender); got != core.SMSSender(sender) {
		t.Fatalf("nil Metrics wrapped the SMS sender: %T", got)
	}
	app := fiber.New()
	app.Use(m.Middleware())
	app.Get("/x", func(c *fiber.Ctx) error { return c.SendString("ok") })
	res, err := app.Test(httptest.NewRequest(http.MethodGet, "/x", nil))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /x through a nil Metrics' middleware = %v, %v", res, err)
	}
}

func TestRuntimeAndProcessCollectorsAreRegistered(t *testing.T) {
	m := metrics.New()
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if _, ok := sample(t, m, name, map[string]string{}); !ok {
			t.Errorf("%s is not exported", name)
		}
	}
}

func TestWebsocketGaugeAndDecisionHistogram(t *testing.T) {
	m := metrics.New()
	m.WebsocketOpened()
	m.WebsocketOpened()
	m.WebsocketClosed()
	if v := mustSample(t, m, "approvald_websockets_open", map[string]string{}); v != 1 {
		t.Fatalf("websockets_open = %v, want 1", v)
	}
	m.DecisionWritten(time.Time{}) // no time carried: not a sample
	m.DecisionWritten(time.Now().Add(-3 * time.Millisecond))
	families, _ := m.Registry().Gather()
	for _, f := range families {
		if f.GetName() != "approvald_decision_to_websocket_seconds" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 1 || h.GetSampleSum() < 0.003 || h.GetSampleSum() > 1 {
			t.Fatalf("histogram count %d sum %v, want one sample of about 3 ms", h.GetSampleCount(), h.GetSampleSum())
		}
		return
	}
	t.Fatal("approvald_decision_to_websocket_seconds is not exported")
}

func TestWatchHubReadsAtScrapeTime(t *testing.T) {
	m := metrics.New()
	var resubscribed uint64
	m.WatchHub(func() uint64 { return resubscribed }, func() int { return 7 })
	resubscribed = 3
	if v := mustSample(t, m, "approvald_pubsub_resubscribed_total", map[string]string{}); v != 3 {
		t.Fatalf("pubsub_resubscribed_total = %v, want 3", v)
	}
	if v := mustSample(t, m, "approvald_pubsub_channels", map[string]string{}); v != 7 {
		t.Fatalf("pubsub_channels = %v, want 7", v)
	}
}

func TestWatchPoolsReadsAtScrapeTime(t *testing.T) {
	m := metrics.New()
	var db metrics.PoolStats
	m.WatchPools(func() metrics.PoolStats { return db }, nil)
	db = metrics.PoolStats{InUse: 2, Open: 5, Waits: 4, WaitDuration: 1500 * time.Millisecond}
	for name, want := range map[string]float64{
		"approvald_pool_waits_total": 4, "approvald_pool_wait_seconds_total": 1.5,
		"approvald_pool_connections_in_use": 2, "approvald_pool_connections_open": 5,
	} {
		if v := mustSample(t, m, name, map[string]string{"pool": "database"}); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if _, ok := sample(t, m, "approvald_pool_waits_total", map[string]string{"pool": "redis"}); ok {
		t.Error("a Redis pool is exported without Redis")
	}
}

func TestSchedulerAndGCPauseHistogramsAreExported(t *testing.T) {
	m := metrics.New()
	for _, name := range []string{"go_sched_latencies_seconds", "go_sched_pauses_total_gc_seconds"} {
		if _, ok := sample(t, m, name, map[string]string{}); !ok {
			t.Errorf("%s is not exported", name)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSMSCountsSentAndFailed(t *testing.T) {
	m := metrics.New()
	ctx := context.Background()
	if err := m.SMS(sms.NewConsole(io.Discard)).Send(ctx, "+14155550100", "hello"); err != nil {
		t.Fatal(err)
	}
	if err := m.SMS(sms.NewConsole(failingWriter{})).Send(ctx, "+14155550100", "hello"); err == nil {
		t.Fatal("a failing console reported success")
	}
	for result, want := range map[string]float64{"sent": 1, "failed": 1} {
		if v := mustSample(t, m, "approvald_sms_total", map[string]string{"result": result}); v != want {
			t.Errorf("sms_total{result=%q} = %v, want %v", result, v, want)
		}
	}
}

func TestPushesCountSentAndFailed(t *testing.T) {
	device := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/broken") {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer device.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	client, err := push.New(push.Config{ServerKey: key, Policy: push.Policy{AllowPrivate: true}, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	m := metrics.New()
	p := m.Pushes(client)
	ctx := context.Background()
	if err := p.Send(ctx, device.URL+"/push", []byte(`{}`)); err != nil {
		t.Fatalf("push to a healthy device: %v", err)
	}
	if err := p.Send(ctx, device.URL+"/broken", []byte(`{}`)); err == nil {
		t.Fatal("push to a failing device reported success")
	}
	// Web Pushes count there too.
	w := m.WebPushes(fakeWebPusher{})
	_ = w.SendWebPush(ctx, "dev_1", core.WebPush{}, []byte(`{}`), time.Minute)
	for result, want := range map[string]float64{"sent": 2, "failed": 1} {
		if v := mustSample(t, m, "approvald_pushes_total", map[string]string{"result": result}); v != want {
			t.Errorf("pushes_total{result=%q} = %v, want %v", result, v, want)
		}
	}
}

type fakeWebPusher struct{}

func (fakeWebPusher) SendWebPush(context.Context, string, core.WebPush, []byte, time.Duration) error {
	return nil
}

// TestApprovalsCountCommittedChanges runs the store decorator on a real
// (SQLite) database: starts, a decision, a lost race, a supersede and an
// expiry.
func TestApprovalsCountCommittedChanges(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := &core.User{ID: core.NewID(core.PrefixUser), Name: "Ada", Phone: "+14155550100", PasswordHash: "x", TwoFactor: true, CreatedAt: now, UpdatedAt: now}
	v := &core.Verification{ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "x",
		Status: core.VerificationPending, ExpiresAt: now.Add(time.Hour), LastSentAt: now, CreatedAt: now}
	if err := db.CreateSignup(ctx, u, v); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	approvals := m.Approvals(db)
	newApproval := func(ch core.Channel, ttl time.Duration) *core.Approval {
		a := &core.Approval{ID: core.NewID(core.PrefixApproval), UserID: u.ID, Status: core.ApprovalPending, Channel: ch,
			MatchNumber: 42, TicketHash: "h", ExpiresAt: now.Add(ttl), CreatedAt: now}
		if ch == core.ChannelPush {
			a.PushSentAt = &now
		}
		if err := approvals.CreateApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a
	}

	decided := newApproval(core.ChannelPush, time.Hour)
	if got, err := approvals.UpdatePending(ctx, decided.ID, now, core.Decided{Status: core.ApprovalApproved, Method: core.MethodPush, At: now}); got == nil || err != nil {
		t.Fatalf("decide: %v %v", got, err)
	}
	// The loser of a race.
	if got, _ := approvals.UpdatePending(ctx, decided.ID, now, core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonUserDenied, At: now}); got != nil {
		t.Fatal("a second decision was written")
	}
	fallback := newApproval(core.ChannelPush, time.Hour)
	// Not a decision.
	if got, err := approvals.UpdatePending(ctx, fallback.ID, now, core.FellBack{Reason: core.ReasonRequested, ExpiresAt: now.Add(time.Hour)}); got == nil || err != nil {
		t.Fatalf("fall back: %v %v", got, err)
	}
	newApproval(core.ChannelSMS, time.Hour) // never pushed: never superseded
	supersede := core.Decided{Status: core.ApprovalDenied, Reason: core.ReasonSuperseded, At: now}
	if got, err := approvals.SupersedePending(ctx, u.ID, now, supersede); err != nil || len(got) != 1 || got[0].ID != fallback.ID {
		t.Fatalf("supersede: %v, %v; want the pushed one that fell back to sms", got, err)
	}
	newApproval(core.ChannelPush, time.Hour)
	if got, err := approvals.SupersedePending(ctx, u.ID, now, supersede); err != nil || len(got) != 1 {
		t.Fatalf("supersede: %v, %v", got, err)
	}
	if expired, err := approvals.ExpireDue(ctx, now.Add(2*time.Hour), 10); err != nil || len(expired) != 1 {
		t.Fatalf("expire: %d, %v (want the sms one)", len(expired), err)
	}

	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"approvald_approvals_started_total", map[string]string{"channel": "push"}, 3},
		{"approvald_approvals_decided_total", map[string]string{"channel": "push", "outcome": "approved"}, 1},
		{"approvald_approvals_decided_total", map[string]string{"channel": "push", "outcome": "denied"}, 1},
		{"approvald_approvals_decided_total", map[string]string{"channel": "sms", "outcome": "denied"}, 1},
		{"approvald_approvals_decided_total", map[string]string{"channel": "sms", "outcome": "expired"}, 1},
	}
	for _, w := range want {
		if v := mustSample(t, m, w.name, w.labels); v != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, v, w.value)
		}
	}
}

func TestMiddlewareLabelsByRoutePatternNotPath(t *testing.T) {
	m := metrics.New()
	app := fiber.New()
	app.Use(m.Middleware())
	app.Get("/api/v1/approvals/:id", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusAccepted) })
	app.Get("/boom", func(c *fiber.Ctx) error { return fiber.NewError(http.StatusTeapot, "no") })
	for _, path := range []string{"/api/v1/approvals/apr_one", "/api/v1/approvals/apr_two", "/boom"} {
		res, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if v := mustSample(t, m, "approvald_http_request_duration_seconds",
		map[string]string{"method": "GET", "route": "/api/v1/approvals/:id", "code": "202"}); v != 2 {
		t.Fatalf("two requests on the pattern counted %v times", v)
	}
	if v := mustSample(t, m, "approvald_http_request_duration_seconds",
		map[string]string{"method": "GET", "route": "/boom", "code": "418"}); v != 1 {
		t.Fatalf("the error answer counted %v times", v)
	}
	families, _ := m.Registry().Gather()
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if strings.Contains(l.GetValue(), "apr_") {
					t.Fatalf("a raw path leaked into a label: %s=%s", l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestListenerNeedsTokenAndServesPprofOnlyWhenAsked(t *testing.T) {
	m := metrics.New()
	get := func(srv *http.Server, path, auth string) int {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		srv.Handler.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK && path == "/metrics" && !strings.Contains(rec.Body.String(), "approvald_websockets_open") {
			t.Fatalf("/metrics answered without approvald's metrics:\n%s", rec.Body.String())
		}
		return rec.Code
	}
	open := m.Server(metrics.ListenerConfig{})
	if code := get(open, "/metrics", ""); code != http.StatusOK {
		t.Fatalf("open listener /metrics = %d", code)
	}
	if code := get(open, "/debug/pprof/", ""); code != http.StatusNotFound {
		t.Fatalf("pprof without Pprof = %d, want 404", code)
	}
	guarded := m.Server(metrics.ListenerConfig{Token: "s3cret", Pprof: true})
	for auth, want := range map[string]int{"": 401, "Bearer wrong": 401, "s3cret": 401, "Bearer s3cret": 200} {
		if code := get(guarded, "/metrics", auth); code != want {
			t.Errorf("/metrics with Authorization %q = %d, want %d", auth, code, want)
		}
	}
	if code := get(guarded, "/debug/pprof/", "Bearer s3cret"); code != http.StatusOK {
		t.Fatalf("pprof with Pprof = %d, want 200", code)
	}
}
