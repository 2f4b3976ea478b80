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
