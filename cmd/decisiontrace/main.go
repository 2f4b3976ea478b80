// Command decisiontrace splits the device callbacks in an execution trace
// of approvald (approvalbench -pprof-dir DIR -trace 4s saves one as
// DIR/ws-decide.trace) by where each one's time went, from the moment its
// request woke the connection's goroutine to the write of the browser's
// frame: running, waiting for a P, in system calls, and blocked on
// PostgreSQL (the decision's prepared statement, or another read), on
// Redis, or on a sync primitive. It prints the split of the slowest 1 %,
// of the next 4 % and of the median band, so a tail can be told from a
// slow median.
//
//	go run ./cmd/decisiontrace DIR/ws-decide.trace
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// decision is one callback: its request's goroutine's states until it
// handed the frame to the websocket's writer, then that writer.
type decision struct {
	start, handoff, writerRan, end trace.Time
	writer                         trace.GoID
	by                             map[string]time.Duration
	state                          string
	since                          trace.Time
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: decisiontrace FILE.trace")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	done, err := split(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	report(os.Stdout, done)
}

func has(s trace.Stack, subs ...string) bool {
	for fr := range s.Frames() {
		for _, sub := range subs {
			if strings.Contains(fr.Func, sub) {
				return true
			}
		}
	}
	return false
}

// waitingOn names what a blocked goroutine waits for, by its stack.
func waitingOn(s trace.Stack) string {
	switch {
	case has(s, "go-redis"):
		return "redis"
	case has(s, "WaitGroup).Wait") && has(s, "authenticate"):
		// The other half of Redis's script ‖ the signature's check, which
		// runs on a goroutine of its own.
		return "authenticate: awaiting its other half"
	case has(s, "Stmt).QueryContext"):
		return "postgres, the decision"
	case has(s, "pgdriver", "database/sql"):
		return "postgres, other"
	case has(s, "fasthttp"):
		return "http"
	}
	return "other"
}

func split(r io.Reader) ([]*decision, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	open := map[trace.GoID]*decision{}    // a connection's goroutine → its callback
	writers := map[trace.GoID]*decision{} // a frame's writer → its callback
	awaitsRequest := map[trace.GoID]bool{}
	var done []*decision
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			return nil, err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g, at := st.Resource.Goroutine(), ev.Time()
		from, to := st.Goroutine()
		if from == trace.GoNotExist {
			// The websocket's writer, started by a callback: the handoff.
			if d := open[ev.Goroutine()]; d != nil && d.writer == 0 && has(ev.Stack(), "wsSession).push") {
				d.handoff, d.writer = at, g
				writers[g] = d
			}
			continue
		}
		if d := writers[g]; d != nil {
			if to == trace.GoRunning && d.writerRan == 0 {
				d.writerRan = at
			}
			if to == trace.GoNotExist || (from == trace.GoSyscall && has(st.Stack, "writeItem")) {
				d.end = at
				delete(writers, g)
				done = append(done, d)
			}
		}
		// A callback starts when its connection's goroutine wakes from
		// waiting for a request.
		if to == trace.GoWaiting {
			awaitsRequest[g] = waitingOn(st.Stack) == "http" && !has(st.Stack, "approval.")
		}
		if from == trace.GoWaiting && to == trace.GoRunnable && awaitsRequest[g] {
			open[g] = &decision{start: at, by: map[string]time.Duration{}}
		}
		d := open[g]
		if d == nil || d.handoff != 0 {
			continue
		}
		if d.since != 0 {
			d.by[d.state] += time.Duration(at - d.since)
		}
		d.since = at
		switch to {
		case trace.GoRunning:
			d.state = "running"
		case trace.GoRunnable:
			d.state = "runnable (waiting for a P)"
		case trace.GoSyscall:
			d.state = "in a system call"
		case trace.GoWaiting:
			d.state = "blocked (" + st.Reason + "): " + waitingOn(st.Stack)
		}
	}
}

func report(w io.Writer, done []*decision) {
	if len(done) == 0 {
		fmt.Fprintln(w, "no callback handed a frame to a websocket in this trace")
		return
	}
	took := func(d *decision) time.Duration { return time.Duration(d.end - d.start) }
	sort.Slice(done, func(i, j int) bool { return took(done[i]) > took(done[j]) })
	at := func(q float64) time.Duration { return took(done[min(int(float64(len(done))*(1-q)), len(done)-1)]) }
	fmt.Fprintf(w, "%d callbacks, request woken → frame written: p50 %v, p99 %v, max %v\n", len(done), at(0.5), at(0.99), took(done[0]))
	band := func(name string, ds []*decision) {
		if len(ds) == 0 {
			return
		}
		sum := map[string]time.Duration{}
		var total, queued, writing time.Duration
		for _, d := range ds {
			for k, v := range d.by {
				sum[k] += v
			}
			total += took(d)
			queued += time.Duration(d.writerRan - d.handoff)
			writing += time.Duration(d.end - d.writerRan)
		}
		sum["writer: created → running"], sum["writer: running → frame written"] = queued, writing
		n := time.Duration(len(ds))
		fmt.Fprintf(w, "\n%s, %d callbacks, mean %v:\n", name, len(ds), total/n)
		keys := make([]string, 0, len(sum))
		for k := range sum {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return sum[keys[i]] > sum[keys[j]] })
		for _, k := range keys {
			fmt.Fprintf(w, "  %-40s %10v\n", k, (sum[k] / n).Round(time.Microsecond))
		}
	}
	k := max(1, len(done)/100)
	band("slowest 1 %", done[:k])
	band("next 4 %", done[k:max(k, len(done)/20)])
	band("median band (45–55 %)", done[len(done)*45/100:len(done)*55/100])
}
