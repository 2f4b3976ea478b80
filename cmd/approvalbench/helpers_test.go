package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/testenv"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses, then utime 250 and stime 50 ticks.
	line := "4242 (app (x) y) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
	got, err := parseStatCPU([]byte(line))
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 3s", got, err)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1")); err == nil {
		t.Fatal("a short line parsed")
	}
}

func TestSummarizeUsesNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	l := summarize(s)
	if l.Count != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Fatalf("summarize = %+v", l)
	}
	if (summarize(nil) != Latency{}) {
		t.Fatal("no samples should summarize to zeros")
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFlagsRefuseNonLoopbackTargets(t *testing.T) {
	env := func(string) string { return "" }
	_, err := parseFlags([]string{"-database-url", "postgres://192.0.2.10/x", "-redis-url", "redis://127.0.0.1:6379"}, env)
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("a remote database was accepted: %v", err)
	}
	cfg, err := parseFlags([]string{"-database-url", "postgres://127.0.0.1/x", "-redis-url", "redis://localhost:6379", "-modes", "ws,poll"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PollRate != cfg.Rate || !cfg.has("ws") || cfg.has("floor") {
		t.Fatalf("parsed %+v", cfg)
	}
	if _, err := parseFlags([]string{"-database-url", "postgres://127.0.0.1/x", "-redis-url", "redis://127.0.0.1", "-modes", "nap"}, env); err == nil {
		t.Fatal("an unknown phase was accepted")
	}
}

func TestSourceAddressesGrowWithConnections(t *testing.T) {
	per := ephemeralPorts() * 3 / 4
	if n := len(newSourceAddrs(per).ips); n != 1 {
		t.Fatalf("%d addresses for %d connections, want 1", n, per)
	}
	s := newSourceAddrs(2*per + 1)
	if len(s.ips) != 3 || s.ips[2].String() != "127.0.0.3" {
		t.Fatalf("addresses %v for %d connections", s.ips, 2*per+1)
	}
}

func TestHistogramQuantileBounds(t *testing.T) {
	before := `x_bucket{code="200",le="0.001"} 10
x_bucket{code="200",le="0.005"} 10
x_bucket{code="200",le="+Inf"} 10
x_bucket{code="500",le="0.001"} 99
`
	after := `x_bucket{code="200",le="0.001"} 60
x_bucket{code="200",le="0.005"} 109
x_bucket{code="200",le="+Inf"} 110
x_bucket{code="500",le="0.001"} 99
`
	b0, b1 := histogram(before, "x", `code="200"`), histogram(after, "x", `code="200"`)
	if len(b1) != 3 {
		t.Fatalf("buckets %v", b1)
	}
	// 100 new samples: 50 ≤ 1 ms, 49 more ≤ 5 ms, 1 above.
	for q, want := range map[float64]float64{0.5: 1, 0.9: 5, 0.99: 5, 1: -1} {
		if got := quantileBound(b0, b1, q); got != want {
			t.Errorf("quantile %v = %v ms, want %v", q, got, want)
		}
	}
	if got := quantileBound(b1, b1, 0.5); got != 0 {
		t.Errorf("no new samples gave %v", got)
	}
	if got := quantileBound(nil, b1, 0.5); got != 1 {
		t.Errorf("a series that did not exist before: median %v ms, want 1", got)
	}
}

func TestDialsFromEachSourceAddressInTurn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := make(chan string, 3)
	go func() {
		for range 3 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			from <- host
			c.Close()
		}
	}()
	s := newSourceAddrs(2*(ephemeralPorts()*3/4) + 1)
	seen := map[string]bool{}
	for range 3 {
		c, err := s.DialContext(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		seen[<-from] = true
	}
	for _, want := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		if !seen[want] {
			t.Errorf("no connection came from %s: %v", want, seen)
		}
	}
}

func TestPasskeyFlagsAndPublicURL(t *testing.T) {
	env := func(string) string { return "" }
	base := []string{"-database-url", "postgres://127.0.0.1/x", "-redis-url", "redis://127.0.0.1:6379", "-modes", "passkey"}
	cfg, err := parseFlags(base, env)
	if err != nil || !cfg.has("passkey") || cfg.Passkey != 10*time.Second || cfg.PasskeyWorkers != 8 {
		t.Fatalf("parsed %+v, %v", cfg, err)
	}
	if _, err := parseFlags(append(base, "-passkey-workers", "0"), env); err == nil {
		t.Fatal("no passkey worker was accepted")
	}
	if got, err := passkeyPublicURL("127.0.0.1:41234"); err != nil || got != "http://localhost:41234" {
		t.Fatalf("passkeyPublicURL = %q, %v", got, err)
	}
}

func TestServerQueuesAreTheWindowsDifference(t *testing.T) {
	reading := func(pauses, waits, waitSeconds float64) serverSide {
		return serverSide{fmt.Sprintf(`go_sched_pauses_total_gc_seconds_bucket{le="0.0001"} %[1]g
go_sched_pauses_total_gc_seconds_bucket{le="0.001"} %[1]g
go_sched_pauses_total_gc_seconds_bucket{le="+Inf"} %[1]g
approvald_pool_waits_total{pool="database"} %[2]g
approvald_pool_wait_seconds_total{pool="database"} %[3]g
`, pauses, waits, waitSeconds)}
	}
	q := serverQueues(reading(10, 3, 0.5), reading(14, 5, 0.75))
	if q.GCPauses != 4 || q.GCPauseMax != 0.1 || q.DBWaits != 2 || q.DBWaitMs != 250 || q.RedisWaits != 0 {
		t.Fatalf("queues %+v; want 4 pauses of at most 0.1 ms, 2 database waits of 250 ms in all, no Redis wait", q)
	}
}

// TestDurableAsksForSynchronousCommits: -durable turns synchronous_commit on
// for the bench's database, and refuses a server that runs fsync off.
func TestDurableAsksForSynchronousCommits(t *testing.T) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		testenv.Missing(t, "PostgreSQL (TEST_DATABASE_URL)")
	}
	ctx := context.Background()
	dbURL, drop, err := testenv.CreateDatabase(ctx, base, "t_")
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	before, err := postgresSettings(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	err = makeDurable(ctx, dbURL)
	if before.Fsync != "on" {
		if err == nil || !strings.Contains(err.Error(), "fsync=off") {
			t.Fatalf("fsync=%s: makeDurable = %v; want it refused", before.Fsync, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if after, err := postgresSettings(ctx, dbURL); err != nil || !after.Durable() {
		t.Fatalf("after makeDurable: %+v, %v; want durable", after, err)
	}
}
