package main

import (
	"context"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// decisions are one phase's approve callbacks: when each was sent, and
// whether the server answered "approved".
type decisions struct {
	sent     []atomic.Int64 // Unix ns when the signed request was written
	approved []atomic.Bool
	errors   atomic.Int64
	last     time.Time // when the last callback was answered

	mu       sync.Mutex
	firstErr error
}

// decideAtRate sends one signed approve callback per user, open loop: the
// i-th leaves at start + i/rate whatever the earlier ones are doing, so a
// slow server meets the offered rate rather than a politely slowed one. It
// returns once every callback was answered.
func decideAtRate(ctx context.Context, users []*user, rate float64) *decisions {
	d := &decisions{sent: make([]atomic.Int64, len(users)), approved: make([]atomic.Bool, len(users))}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i, u := range users {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// "Sent" is when the signed request has been written to the
			// connection: signing it is the phone's work, not the path's.
			d.sent[i].Store(time.Now().UnixNano())
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
				d.sent[i].Store(time.Now().UnixNano())
			}}
			match := u.Match
			status, err := u.Device.Decide(httptrace.WithClientTrace(ctx, trace), u.ApprovalID, true, &match, false)
			switch {
			case err != nil:
				d.errors.Add(1)
				d.mu.Lock()
				if d.firstErr == nil {
					d.firstErr = err
				}
				d.mu.Unlock()
			case status != "approved":
				d.errors.Add(1)
			default:
				d.approved[i].Store(true)
			}
		}()
	}
	wg.Wait()
	d.last = time.Now()
	return d
}

// err is the first callback error, for the log.
func (d *decisions) err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.firstErr
}

// latencies pairs each approved callback with when its browser heard of it
// (Unix ns, 0 for never) and counts the approved ones never heard: lost.
func (d *decisions) latencies(heard func(i int) int64) (samples []time.Duration, lost int) {
	for i := range d.sent {
		if !d.approved[i].Load() {
			continue
		}
		at := heard(i)
		if at == 0 {
			lost++
			continue
		}
		samples = append(samples, time.Duration(at-d.sent[i].Load()))
	}
	return samples, lost
}
