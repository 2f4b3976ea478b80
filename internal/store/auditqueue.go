package store

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// AuditQueue records security events off the caller's path: one writer
// stores them in order while the request that caused them has already
// answered. It serves the refused-password event, whose synchronous write
// would make a wrong password slower than an unknown user. Events are
// dropped (and the drop logged) only when the queue is full; Close stores
// what is queued before it returns.
type AuditQueue struct {
	events core.SecurityEventStore
	clock  core.Clock
	log    *slog.Logger

	mu     sync.Mutex // guards closed against a send on a closed channel
	closed bool
	queue  chan *core.SecurityEvent
	done   chan struct{}
}

var _ core.Auditor = (*AuditQueue)(nil)

// writeTimeout bounds one queued event's database write.
const writeTimeout = 5 * time.Second

// NewAuditQueue starts the writer; size events may wait.
func NewAuditQueue(events core.SecurityEventStore, clock core.Clock, log *slog.Logger, size int) *AuditQueue {
	q := &AuditQueue{events: events, clock: clock, log: log, queue: make(chan *core.SecurityEvent, size), done: make(chan struct{})}
	go q.write()
	return q
}

// Record implements core.Auditor; IP and user agent are taken from ctx now.
func (q *AuditQueue) Record(ctx context.Context, userID, kind, detail string) {
	if userID == "" {
		return
	}
	e := core.NewSecurityEvent(ctx, userID, kind, detail, q.clock.Now())
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.log.WarnContext(ctx, "security event not recorded: shutting down", "kind", kind, "user_id", userID)
		return
	}
	select {
	case q.queue <- e:
	default:
		q.log.WarnContext(ctx, "security event not recorded: queue full", "kind", kind, "user_id", userID)
	}
}

// Close stores the queued events and stops the writer.
func (q *AuditQueue) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.queue)
	}
	q.mu.Unlock()
	<-q.done
}

func (q *AuditQueue) write() {
	defer close(q.done)
	for e := range q.queue {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		if err := q.events.AddEvent(ctx, e); err != nil {
			q.log.WarnContext(ctx, "security event not recorded", "kind", e.Kind, "user_id", e.UserID, "err", err)
		}
		cancel()
	}
}
