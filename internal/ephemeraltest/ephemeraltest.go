// Package ephemeraltest is the one contract suite for core.KV, core.Limiter
// and core.Broker: package redis and package inmem both run it, so the
// embedded default behaves as the Redis deployment does.
//
// Every key and channel name is random, because the Redis server is shared
// with other packages' tests running at the same time.
package ephemeraltest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Constructors the suite calls once per test; each returns a fresh client
// and arranges its own cleanup with t.Cleanup. testing.TB, so the same
// constructor serves tests and benchmarks.
type (
	NewKV      func(t testing.TB) core.KV
	NewLimiter func(t testing.TB) core.Limiter
	NewBroker  func(t testing.TB) core.Broker
)

// Name returns a name no other test uses: kind, a dash and 20 random letters.
func Name(kind string) string {
	return kind + "-" + strings.ToLower(core.NewID(""))[:20]
}

// Context is a context for one operation of a test: long enough for a busy
// machine, short enough that a hang fails the test instead of the run.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
