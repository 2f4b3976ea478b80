package inmem

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// eventLog is one key's sliding-window log, oldest first, like the Redis
// sorted set it mirrors.
type eventLog struct {
	events  []loggedEvent
	expires time.Time // by the store's clock, as PEXPIRE would set it
}

// loggedEvent is one recorded event: its time in microseconds and the token
// Release knows it by.
type loggedEvent struct {
	at    int64
	token string
}

func (l *eventLog) expired(now time.Time) bool { return !now.Before(l.expires) }

func (s *Ephemeral) Hit(_ context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, error) {
	d, _, err := s.slide(key, limit, window, now, true)
	return d, err
}

func (s *Ephemeral) Check(_ context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, error) {
	d, _, err := s.slide(key, limit, window, now, false)
	return d, err
}

func (s *Ephemeral) Reserve(_ context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, string, error) {
	return s.slide(key, limit, window, now, true)
}

func (s *Ephemeral) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logs[key]
	if l == nil || token == "" {
		return nil
	}
	l.events = slices.DeleteFunc(l.events, func(e loggedEvent) bool { return e.token == token })
	if len(l.events) == 0 {
		delete(s.logs, key)
	}
	return nil
}

// CheckAndClaim is Check and, when allowed, SetNX(claim, "1", ttl), at once.
func (s *Ephemeral) CheckAndClaim(_ context.Context, key string, limit int, window time.Duration, now time.Time, claim string, ttl time.Duration) (core.LimitDecision, bool, error) {
	if ttl <= 0 {
		return core.LimitDecision{}, false, fmt.Errorf("inmem: CheckAndClaim needs a positive ttl, got %v", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, _, err := s.slideLocked(key, limit, window, now, false)
	if err != nil || !d.Allowed {
		return d, false, err
	}
	return d, s.setNXLocked(claim, "1", ttl), nil
}

func (s *Ephemeral) Reset(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.logs, key)
	return nil
}

// slide is the exact sliding window of the Redis script: drop events at or
// before now-window, count the rest, record now when below limit. It
// returns the recorded event's token.
func (s *Ephemeral) slide(key string, limit int, window time.Duration, now time.Time, record bool) (core.LimitDecision, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slideLocked(key, limit, window, now, record)
}

// slideLocked is slide with s.mu held.
func (s *Ephemeral) slideLocked(key string, limit int, window time.Duration, now time.Time, record bool) (core.LimitDecision, string, error) {
	if limit < 1 || window < time.Microsecond {
		return core.LimitDecision{}, "", fmt.Errorf("inmem: limiter needs limit >= 1 and window >= 1µs, got %d and %v", limit, window)
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
		gone := firstAfter(l.events, cutoff) // events <= cutoff left the window
		l.events = l.events[gone:]
		if len(l.events) == 0 {
			l = nil
		}
	}
	if l == nil {
		delete(s.logs, key)
	}

	count := 0
	if l != nil {
		count = len(l.events)
	}
	if count >= limit {
		// One more fits once the (count-limit+1) oldest events have left.
		blocking := l.events[count-limit].at
		return core.LimitDecision{Count: count, RetryAfter: time.Duration(blocking+windowUS-nowUS) * time.Microsecond}, "", nil
	}
	if !record {
		return core.LimitDecision{Allowed: true, Count: count + 1}, "", nil
	}
	if l == nil {
		l = &eventLog{}
		s.logs[key] = l
	}
	s.seq++
	token := strconv.FormatUint(s.seq, 36)
	at := firstAfter(l.events, nowUS) // after equal times, as the clock usually moves forward
	l.events = slices.Insert(l.events, at, loggedEvent{at: nowUS, token: token})
	l.expires = storeNow.Add(window)
	return core.LimitDecision{Allowed: true, Count: count + 1}, token, nil
}

// firstAfter is the index of the first event later than us.
func firstAfter(events []loggedEvent, us int64) int {
	i, _ := slices.BinarySearchFunc(events, us+1, func(e loggedEvent, t int64) int {
		switch {
		case e.at < t:
			return -1
		case e.at > t:
			return 1
		}
		return 0
	})
	return i
}
