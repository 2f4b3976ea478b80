package main

import (
	"runtime"
	"runtime/debug"
)

// withoutGC runs fn with the harness's garbage collector off, after one
// collection. The harness stands in for browsers and phones on machines of
// their own; its collector's pauses and assists would otherwise be timed as
// the server's latency (a run with the harness's collector relaxed and the
// server unchanged lost most of its tail: BENCHMARKS.md). The windows whose
// latencies are milliseconds (ws, floor) last only seconds, so what the
// harness allocates in them without collecting stays bounded; the poll
// phase, timed in seconds, runs with the collector on.
func withoutGC(fn func()) {
	runtime.GC()
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	fn()
}
