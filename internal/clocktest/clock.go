// Package clocktest is a core.Clock that a test moves by hand, so expiry,
// cooldowns and lockouts are tested without sleeping.
package clocktest

import (
	"sync"
	"time"
)

// Clock stands still until told to move; safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New is a Clock at start.
func New(start time.Time) *Clock { return &Clock{now: start} }

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
