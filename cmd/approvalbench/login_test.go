package main

import (
	"math"
	"testing"
	"time"
)

// The logins are held against the mean of the two raw rates, the one the
// table prints.
func TestLoginRatioIsAgainstTheMeanRawRate(t *testing.T) {
	r := newLoginResult(800, 10*time.Second, 100, 60)
	if r.PerSecond != 80 || r.ArgonPerSecond != 80 || math.Abs(r.Ratio-1) > 1e-9 {
		t.Fatalf("%+v; want 80 logins/s against a mean of 80 hashes/s, ratio 1", r)
	}
	if r := newLoginResult(10, time.Second, 0, 0); r.Ratio != 0 {
		t.Fatalf("ratio %v without a raw rate; want 0", r.Ratio)
	}
}

// The flows are held against the mean of the raw RS256 rates sampled
// before and after them, and the CPU is counted per complete flow.
func TestOIDCRatioIsAgainstTheMeanRawRate(t *testing.T) {
	r := &OIDCResult{}
	run := &workerRun{took: 2 * time.Second, whole: make([]time.Duration, 1000), last: make([]time.Duration, 1000), errors: 1}
	before := signs{n: 1200, wall: time.Second, cpu: 2 * time.Second}
	after := signs{n: 800, wall: time.Second, cpu: 2 * time.Second}
	r.fill(run, cpuUse{server: time.Second, deps: 500 * time.Millisecond, wall: 2 * time.Second}, 250*time.Millisecond, before, after)
	if r.PerSecond != 500 || r.SignPerSecond != 1000 || math.Abs(r.Ratio-0.5) > 1e-9 || r.Errors != 1 {
		t.Fatalf("%+v; want 500 flows/s against a mean of 1000 signs/s, ratio 0.5", r)
	}
	if r.ServerMsPerFlow != 1 || r.DepsMsPerFlow != 0.5 || r.HarnessMsPerFlow != 0.25 || r.ServerCores != 0.5 {
		t.Fatalf("CPU figures %+v", r)
	}
	// 4 s of CPU for 2,000 signatures: 2 ms each, twice a flow's 1 ms in
	// approvald, 2 / 1.75 of its 1.75 ms everywhere.
	if r.SignCPUMs != 2 || math.Abs(r.CPURatio-2) > 1e-9 || math.Abs(r.CPURatioAll-2/1.75) > 1e-9 {
		t.Fatalf("CPU ratios %+v", r)
	}
}

// The exchanges' ratios: the rate against the phase's raw RS256 mean, a
// signature's CPU against an exchange's in approvald and in everything.
func TestOIDCExchangeRatios(t *testing.T) {
	x := &OIDCExchange{PerSecond: 700, ServerMsPer: 2, DepsMsPer: 0.75, HarnessMsPer: 0.25}
	x.rate(1000, 1.5)
	if math.Abs(x.Ratio-0.7) > 1e-9 || math.Abs(x.CPURatio-0.75) > 1e-9 || math.Abs(x.CPURatioAll-0.5) > 1e-9 {
		t.Fatalf("ratios %+v", x)
	}
	x = &OIDCExchange{PerSecond: 700}
	x.rate(0, 0)
	if x.Ratio != 0 || x.CPURatio != 0 {
		t.Fatalf("no raw rate gave ratios %+v", x)
	}
}
