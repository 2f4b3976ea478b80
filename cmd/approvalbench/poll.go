package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// pollers are the classic design's browsers: each asks GET
// /api/v1/approvals/{id} every interval (from a random phase, as browsers
// that arrived at random times would) until it reads "approved".
type pollers struct {
	approvedAt []atomic.Int64 // Unix ns of the poll that read approved
	polls      atomic.Int64
	errors     atomic.Int64
	stop       context.CancelFunc
	wg         sync.WaitGroup

	mu       sync.Mutex
	firstErr error
}

func (p *pollers) fail(err error) {
	p.errors.Add(1)
	p.mu.Lock()
	if p.firstErr == nil {
		p.firstErr = err
	}
	p.mu.Unlock()
}

func (p *pollers) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstErr
}

func startPollers(ctx context.Context, a *api, users []*user, every time.Duration) *pollers {
	ctx, cancel := context.WithCancel(ctx)
	p := &pollers{approvedAt: make([]atomic.Int64, len(users)), stop: cancel}
	start := time.Now()
	for i, u := range users {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			next := start.Add(time.Duration(rand.Int64N(int64(every))))
			timer := time.NewTimer(time.Until(next))
			defer timer.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				approved, err := pollOnce(ctx, a, u)
				if ctx.Err() != nil {
					return
				}
				p.polls.Add(1)
				if err != nil {
					p.fail(err)
				}
				if approved {
					p.approvedAt[i].Store(time.Now().UnixNano())
					return
				}
				next = next.Add(every)
				timer.Reset(time.Until(next))
			}
		}()
	}
	return p
}

// pollOnce reads the approval's state with its ticket.
func pollOnce(ctx context.Context, a *api, u *user) (approved bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/v1/approvals/"+u.ApprovalID, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("X-Approval-Ticket", u.Ticket)
	res, err := a.http.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return false, err
	}
	if res.StatusCode != http.StatusOK {
		return false, &statusError{"GET", "/api/v1/approvals/{id}", res.StatusCode, string(body)}
	}
	return bytes.Contains(body, frameApproved), nil
}

// Stop ends every poller and waits for them.
func (p *pollers) Stop() {
	p.stop()
	p.wg.Wait()
}

// awaitPolls waits until every approved callback was read by its poller,
// or until timeout.
func awaitPolls(ctx context.Context, d *decisions, p *pollers, offset int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		missing := false
		for i := range d.sent {
			if d.approved[i].Load() && p.approvedAt[offset+i].Load() == 0 {
				missing = true
				break
			}
		}
		if !missing {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
