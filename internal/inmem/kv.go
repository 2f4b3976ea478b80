package inmem

import (
	"context"
	"fmt"
	"time"
)

// entry is a value and the moment it dies.
type entry struct {
	value   string
	expires time.Time
}

func (e entry) expired(now time.Time) bool { return !now.Before(e.expires) }

func (s *Ephemeral) SetNX(_ context.Context, key, value string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		// A key without expiry would live forever; that is a caller's bug.
		return false, fmt.Errorf("inmem: SetNX needs a positive ttl, got %v", ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setNXLocked(key, value, ttl), nil
}

// setNXLocked is SetNX with s.mu held.
func (s *Ephemeral) setNXLocked(key, value string, ttl time.Duration) bool {
	now := s.clock.Now()
	if _, ok := s.live(key, now); ok {
		return false
	}
	s.kv[key] = entry{value: value, expires: now.Add(ttl)}
	return true
}

func (s *Ephemeral) Get(_ context.Context, key string) (string, bool, error) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, now)
	return e.value, ok, nil
}

func (s *Ephemeral) Del(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.kv, key)
	return nil
}

func (s *Ephemeral) TTL(_ context.Context, key string) (time.Duration, error) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, now)
	if !ok {
		return 0, nil
	}
	return e.expires.Sub(now), nil
}

// live returns key's entry unless it is absent or expired, evicting an
// expired one on the way; s.mu is held.
func (s *Ephemeral) live(key string, now time.Time) (entry, bool) {
	e, ok := s.kv[key]
	if !ok {
		return entry{}, false
	}
	if e.expired(now) {
		delete(s.kv, key)
		return entry{}, false
	}
	return e, true
}
