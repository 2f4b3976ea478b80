// Package audittest is a core.Auditor that keeps what it is told, for the
// tests of services that record security events.
package audittest

import (
	"context"
	"sync"

	"github.com/approvald/approvald/internal/core"
)

// Log keeps the recorded events in order; safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	events []core.SecurityEvent
}

var _ core.Auditor = (*Log)(nil)

func (l *Log) Record(_ context.Context, userID, kind, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, core.SecurityEvent{UserID: userID, Kind: kind, Detail: detail})
}

// Of returns the recorded events of kind.
func (l *Log) Of(kind string) []core.SecurityEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []core.SecurityEvent
	for _, e := range l.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// All returns every recorded event.
func (l *Log) All() []core.SecurityEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]core.SecurityEvent(nil), l.events...)
}
