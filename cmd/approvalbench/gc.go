package main

import (
	"runtime"
	"runtime/debug"
)

// withoutGC runs fn with the harness's garbage collector off, after one
// collection. The harness stands in for browsers and phones on machines of
// their own; its collector's pauses and assists would otherwise be timed as
// the server's latency (with the harness at GOGC=400 instead, one run's p99
// fell from 10.1 to 3.1 ms with the server unchanged). A millisecond-scale
// window (ws, floor) allocates some hundred MB at most; the poll phase,
// timed in seconds, runs with the collector on.
func withoutGC(fn func()) {
	runtime.GC()
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	fn()
}
