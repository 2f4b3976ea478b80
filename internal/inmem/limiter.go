package inmem

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// eventLog is one key's sliding-window log: event times in microseconds,
// oldest first, like the Redis sorted set it mirrors.
type eventLog struct {
	times   []int64
	expires time.Time // by the store's clock, as PEXPIRE would set it
}

func (l *eventLog) expired(now time.Time) bool { return !now.Before(l.expires) }

func (s *Store) Hit(_ context.Context, key string, limit int, window time.Duration, now time.Time) (core.Decision, error) {
	return s.slide(key, limit, window, now, true)
}

func (s *Store) Check(_ context.Context, key string, limit int, window time.Duration, now time.Time) (core.Decision, error) {
	return s.slide(key, limit, window, now, false)
}

// CheckAndClaim is Check and, when allowed, SetNX(claim, "1", ttl), at once.
func (s *Store) CheckAndClaim(_ context.Context, key string, limit int, window time.Duration, now time.Time, claim string, ttl time.Duration) (core.Decision, bool, error) {
	if ttl <= 0 {
		return core.Decision{}, false, fmt.Errorf("inmem: CheckAndClaim needs a positive ttl, got %v", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.slideLocked(key, limit, window, now, false)
	if err != nil || !d.Allowed {
		return d, false, err
	}
	return d, s.setNXLocked(claim, "1", ttl), nil
}

func (s *Store) Reset(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.logs, key)
	return nil
}

// slide is the exact sliding window of the Redis script: drop events at or
// before now-window, count the rest, record now when below limit.
func (s *Store) slide(key string, limit int, window time.Duration, now time.Time, record bool) (core.Decision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slideLocked(key, limit, window, now, record)
}

// slideLocked is slide with s.mu held.
func (s *Store) slideLocked(key string, limit int, window time.Duration, now time.Time, record bool) (core.Decision, error) {
	if limit < 1 || window < time.Microsecond {
		return core.Decision{}, fmt.Errorf("inmem: limiter needs limit >= 1 and window >= 1µs, got %d and %v", limit, window)
	}
	nowUS := now.UnixMicro()
	windowUS := window.Microseconds()
	storeNow := s.clock.Now()
	l := s.logs[key]
	if l != nil && l.expired(storeNow) {
		l = nil
	}
	if l != nil {
		cutoff := nowUS - windowUS
		gone, _ := slices.BinarySearch(l.times, cutoff+1) // events <= cutoff left the window
		l.times = l.times[gone:]
		if len(l.times) == 0 {
			l = nil
		}
	}
	if l == nil {
		delete(s.logs, key)
	}

	count := 0
	if l != nil {
		count = len(l.times)
	}
	if count >= limit {
		// One more fits once the (count-limit+1) oldest events have left.
		blocking := l.times[count-limit]
		return core.Decision{Count: count, RetryAfter: time.Duration(blocking+windowUS-nowUS) * time.Microsecond}, nil
	}
	if record {
		if l == nil {
			l = &eventLog{}
			s.logs[key] = l
		}
		at, _ := slices.BinarySearch(l.times, nowUS+1) // after equal times, as the clock usually moves forward
		l.times = slices.Insert(l.times, at, nowUS)
		l.expires = storeNow.Add(window)
	}
	return core.Decision{Allowed: true, Count: count + 1}, nil
}
