package session

import (
	"context"
	"sync"
	"time"

	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
)

func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
}

// memStore is a map-based core.SessionStore that follows
// the interface comments in internal/core/store.go.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]*core.Session
	refresh  map[string]*refreshRecord // by hash
}

type refreshRecord struct {
	sessionID string
	spent     bool
}

func newMemStore() *memStore {
	return &memStore{sessions: map[string]*core.Session{}, refresh: map[string]*refreshRecord{}}
}

func (m *memStore) CreateSession(_ context.Context, s *core.Session, refreshHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *s
	m.sessions[s.ID] = &c
	m.refresh[refreshHash] = &refreshRecord{sessionID: s.ID}
	return nil
}

func (m *memStore) Session(_ context.Context, id string) (*core.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, core.Errorf(core.ENotFound, "no such session")
	}
	c := *s
	return &c, nil
}

func (m *memStore) RotateRefresh(_ context.Context, oldHash, newHash string, now time.Time, idle time.Duration) (*core.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.refresh[oldHash]
	if !ok {
		return nil, core.Errorf(core.EUnauthorized, "unknown refresh token")
	}
	s := m.sessions[rec.sessionID]
	if rec.spent {
		if s.RevokedAt == nil {
			s.RevokedAt = &now
		}
		return nil, core.Errorf(core.EUnauthorized, "refresh token reused")
	}
	if !s.Active(now, idle) {
		return nil, core.Errorf(core.EUnauthorized, "session is not active")
	}
	rec.spent = true
	m.refresh[newHash] = &refreshRecord{sessionID: s.ID}
	s.LastUsedAt = now
	c := *s
	return &c, nil
}

func (m *memStore) RevokeSession(_ context.Context, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok && s.RevokedAt == nil {
		s.RevokedAt = &now
	}
	return nil
}

func (m *memStore) RevokeOtherSessions(_ context.Context, userID, keepID string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.UserID == userID && s.ID != keepID && s.RevokedAt == nil {
			s.RevokedAt = &now
		}
	}
	return nil
}

func (m *memStore) SessionByRefreshToken(_ context.Context, hash string) (*core.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.refresh[hash]
	if !ok || rec.spent {
		return nil, core.Errorf(core.ENotFound, "no such session")
	}
	c := *m.sessions[rec.sessionID]
	return &c, nil
}

func (m *memStore) RevokeClientSessions(_ context.Context, userID, clientID string, now time.Time) error {
	if clientID == "" {
		// As the store: "" would name approvald's own sessions.
		return core.Errorf(core.EInvalidRequest, "a client id is required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.UserID == userID && s.ClientID == clientID && s.RevokedAt == nil {
			s.RevokedAt = &now
		}
	}
	return nil
}
