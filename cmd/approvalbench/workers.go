package main

import (
	"context"
	"sync"
	"time"
)

// workerRun is what a phase's workers measured: each step's whole time and
// the time of its last request, the failed steps and the first failure.
type workerRun struct {
	took        time.Duration
	whole, last []time.Duration
	errors      int
	first       error
}

// runWorkers runs step on n workers, one step after another on each, until
// d has passed; the steps in progress then finish and count, and took runs
// until the last has.
func runWorkers(ctx context.Context, n int, d time.Duration,
	step func(ctx context.Context, worker int) (whole, last time.Duration, err error)) *workerRun {
	out := &workerRun{}
	var mu sync.Mutex
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var whole, last []time.Duration
			errs := 0
			var first error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				w, l, err := step(ctx, i)
				if err != nil {
					if errs++; first == nil {
						first = err
					}
					continue
				}
				whole, last = append(whole, w), append(last, l)
			}
			mu.Lock()
			defer mu.Unlock()
			out.whole, out.last = append(out.whole, whole...), append(out.last, last...)
			if out.errors += errs; out.first == nil {
				out.first = first
			}
		}()
	}
	wg.Wait()
	out.took = time.Since(start)
	return out
}
