package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// TestMain lets e2e build approvald once for TestSmoke and remove it after.
func TestMain(m *testing.M) { e2e.Main(m) }

// TestSmoke runs every phase at a tiny size against a real approvald on
// PostgreSQL and Redis, seeding through the API.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs approvald")
	}
	dbURL := os.Getenv("TEST_DATABASE_URL")
	if dbURL == "" {
		testenv.Missing(t, "PostgreSQL (TEST_DATABASE_URL)")
	}
	redisURL := testenv.RedisURL(t)
	cfg := &config{
		Approvald: e2e.Binary(t), DatabaseURL: dbURL, RedisURL: redisURL,
		Waiting: 4, Rate: 40, PollRate: 40, Duration: 150 * time.Millisecond, Idle: 200 * time.Millisecond,
		PollEvery: 100 * time.Millisecond, Floor: 100 * time.Millisecond, Argon: 100 * time.Millisecond, Settle: 50 * time.Millisecond,
		MemoryWebsockets: 14, // 4 more than N + K, their approvals written into the database
		OIDC:             400 * time.Millisecond, OIDCWorkers: 2, OIDCScope: "openid profile offline_access",
		Passkey: 400 * time.Millisecond, PasskeyWorkers: 2, WebPush: 300 * time.Millisecond, WebPushWorkers: 2,
		Seed: "api", Concurrency: 4, Modes: allModes, PprofDir: t.TempDir(), Trace: 100 * time.Millisecond, Timeout: 2 * time.Minute,
	}
	var progress bytes.Buffer
	res, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if res.WS.Queues == nil || res.Config.Postgres == nil || res.Config.Postgres.Fsync == "" {
		t.Fatalf("no server queues (%+v) or PostgreSQL settings (%+v)", res.WS.Queues, res.Config.Postgres)
	}
	const decidedPerPhase = 6 // 40/s for 150 ms
	if res.Login == nil || res.Login.Logins != 4+2*decidedPerPhase || res.Login.ArgonPerSecond <= 0 {
		t.Fatalf("login figures %+v", res.Login)
	}
	if res.Floor == nil || res.Floor.Count != 4 || res.Floor.P50 <= 0 {
		t.Fatalf("floor figures %+v", res.Floor)
	}
	if res.Memory == nil || res.Memory.Websockets != 14 || res.Memory.RSSAfterMiB <= 0 {
		t.Fatalf("memory figures %+v", res.Memory)
	}
	for name, p := range map[string]*PhaseResult{"ws": res.WS, "poll": res.Poll} {
		if p == nil || p.Waiting != 4 || p.Decided != decidedPerPhase || p.Latency.Count != decidedPerPhase || p.Lost != 0 || p.Errors != 0 {
			t.Fatalf("%s figures %+v", name, p)
		}
	}
	if res.WS.Latency.Max >= res.Poll.Latency.Max+200 {
		t.Errorf("websocket latency %+v is not below polling's %+v", res.WS.Latency, res.Poll.Latency)
	}
	if res.Poll.PollsPerSecond <= 0 {
		t.Errorf("no polls counted: %+v", res.Poll)
	}
	if o := res.OIDC; o == nil || o.Flows == 0 || o.Errors != 0 || o.Flow.Count != o.Flows || o.Token.P50 <= 0 ||
		o.Token.P50 > o.Flow.P50 || o.SignPerSecond <= 0 || o.Ratio <= 0 {
		t.Fatalf("oidc figures %+v", o)
	}
	if p := res.Passkey; p == nil || p.Logins == 0 || p.Errors != 0 || p.Login.Count != p.Logins || p.Finish.P50 <= 0 ||
		p.Finish.P50 > p.Login.P50 || p.VerifyPerSecond <= 0 || p.Ratio <= 0 || p.SignCPUMs <= 0 {
		t.Fatalf("passkey figures %+v", p)
	}
	table := res.Markdown()
	for _, want := range []string{"| callback → browser p50 / p95 / p99 / max (ms) |", "| lost notifications | 0 | 0 | yes |", "n/a (reduced run)",
		"| OpenID code exchanges/s / raw RS256 signs/s | ≥ 70 % |", "| passkey logins/s / raw P-256 verifications/s |"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q:\n%s", want, table)
		}
	}
	var back Result
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, &back); err != nil || back.WS.Latency != res.WS.Latency {
		t.Fatalf("the JSON does not read back: %v", err)
	}
	for _, profile := range []string{"ws-heap.pprof", "ws-decide.trace"} {
		if _, err := os.Stat(cfg.PprofDir + "/" + profile); err != nil {
			t.Errorf("profile %s was not saved: %v", profile, err)
		}
	}
}

// TestOIDCAlone runs the oidc phase by itself: no user is seeded nor
// logged in but the single sign-on one, and its first ID token is checked
// against the provider's keys.
func TestOIDCAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs approvald")
	}
	dbURL := os.Getenv("TEST_DATABASE_URL")
	if dbURL == "" {
		testenv.Missing(t, "PostgreSQL (TEST_DATABASE_URL)")
	}
	cfg := &config{
		Approvald: e2e.Binary(t), DatabaseURL: dbURL, RedisURL: testenv.RedisURL(t), Waiting: 1000,
		OIDC: 300 * time.Millisecond, OIDCWorkers: 3, OIDCScope: "openid", Seed: "db", Concurrency: 4,
		Modes: []string{"oidc"}, Timeout: time.Minute,
	}
	var progress bytes.Buffer
	res, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if res.OIDC == nil || res.OIDC.Flows == 0 || res.OIDC.Errors != 0 || res.Login != nil || strings.Contains(progress.String(), "seeding") {
		t.Fatalf("oidc alone: %+v, login %+v\n%s", res.OIDC, res.Login, progress.String())
	}
	if x := res.OIDC.Exchange; x == nil || x.Exchanges == 0 || x.Exchanges != x.Codes || x.Errors != 0 || x.Ratio <= 0 {
		t.Fatalf("oidc code exchanges: %+v", x)
	}
}

// TestPasskeyAlone runs the passkey phase by itself: approvald on a
// localhost PUBLIC_URL, two users registering a passkey through the API,
// no other user seeded nor logged in.
func TestPasskeyAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs approvald")
	}
	dbURL := os.Getenv("TEST_DATABASE_URL")
	if dbURL == "" {
		testenv.Missing(t, "PostgreSQL (TEST_DATABASE_URL)")
	}
	cfg := &config{
		Approvald: e2e.Binary(t), DatabaseURL: dbURL, RedisURL: testenv.RedisURL(t), Waiting: 1000,
		Passkey: 300 * time.Millisecond, PasskeyWorkers: 2, Seed: "db", Concurrency: 4,
		Modes: []string{"passkey"}, Timeout: time.Minute,
	}
	var progress bytes.Buffer
	res, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if p := res.Passkey; p == nil || p.Logins == 0 || p.Errors != 0 || p.VerifyPerSecond <= 0 || res.Login != nil || res.OIDC != nil ||
		strings.Contains(progress.String(), "seeding") {
		t.Fatalf("passkey alone: %+v, login %+v\n%s", p, res.Login, progress.String())
	}
}

// TestWebPushAlone runs the webpush phase by itself: encrypted sends with
// internal/webpush to the harness's receiver (the first decrypted and
// checked), no user seeded nor logged in.
func TestWebPushAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs approvald")
	}
	dbURL := os.Getenv("TEST_DATABASE_URL")
	if dbURL == "" {
		testenv.Missing(t, "PostgreSQL (TEST_DATABASE_URL)")
	}
	cfg := &config{
		Approvald: e2e.Binary(t), DatabaseURL: dbURL, RedisURL: testenv.RedisURL(t), Waiting: 1000,
		WebPush: 300 * time.Millisecond, WebPushWorkers: 2, WebPushDevices: 3, Seed: "db", Concurrency: 4,
		Modes: []string{"webpush"}, Timeout: time.Minute,
	}
	var progress bytes.Buffer
	res, err := run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	w := res.WebPush
	if w == nil || w.Sent == 0 || w.Errors != 0 || w.Received != int64(w.Sent) || w.ECDHPerSecond <= 0 || w.Ratio <= 0 ||
		w.PerCore <= 0 || res.Login != nil || strings.Contains(progress.String(), "seeding") {
		t.Fatalf("webpush alone: %+v, login %+v\n%s", w, res.Login, progress.String())
	}
	if l := w.Latency; l == nil || l.Logins != 3 || l.Errors != 0 || l.Missing != 0 || l.Pushes != 3 || l.Device.Count != 3 ||
		l.Browser.P50 <= 0 || l.Push.P50 <= 0 {
		t.Fatalf("webpush latency: %+v\n%s", l, progress.String())
	}
	if table := res.Markdown(); !strings.Contains(table, "| pushes/s / raw ECDH P-256/s") {
		t.Errorf("the table has no webpush ratio:\n%s", table)
	}
}
