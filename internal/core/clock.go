package core

import "time"

// Clock is the source of "now" for everything time-based (expiry, cooldowns,
// windows), so tests can move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, always in UTC.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now().UTC() }
