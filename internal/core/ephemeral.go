package core

import (
	"context"
	"time"
)

// The short-lived state kept in Redis, or in process for the embedded
// default. One shared contract suite tests both implementations.

// KV holds small values that die on their own.
type KV interface {
	// SetNX stores value under key for ttl unless the key exists; true when
	// stored. Nonces, cooldowns and one-shot guards are built on it.
	SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error)
	// Get returns the value and true, or "" and false when absent or expired.
	Get(ctx context.Context, key string) (string, bool, error)
	Del(ctx context.Context, key string) error
	// TTL returns how long key still lives; 0 when absent.
	TTL(ctx context.Context, key string) (time.Duration, error)
	Ping(ctx context.Context) error
}

// LimitDecision is a rate limiter's answer.
type LimitDecision struct {
	Allowed    bool
	Count      int           // events in the window, this one included when allowed
	RetryAfter time.Duration // when refused: until one more would be allowed
}

// Limiter counts events per key in a sliding window, atomically.
type Limiter interface {
	// Hit records one event at now when fewer than limit events fall in
	// (now-window, now]; a refused hit is not recorded.
	Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (LimitDecision, error)
	// Check answers as Hit would, without recording anything.
	Check(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (LimitDecision, error)
	// Reserve is Hit that also returns the recorded event's token, so an
	// attempt can be counted before the work it limits (a password or a
	// code compared) and given back with Release when it turns out not to
	// count. Concurrent reservations never exceed limit.
	Reserve(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (d LimitDecision, token string, err error)
	// Release forgets the one event Reserve recorded under token; an unknown
	// or already released token is no error.
	Release(ctx context.Context, key, token string) error
	// Reset forgets every event of key.
	Reset(ctx context.Context, key string) error
	// CheckAndClaim answers as Check and, only when allowed, stores claim
	// (value "1") for ttl unless it exists, as KV.SetNX would (claimed says whether it
	// did), in one step: a device's request settles its failure count and
	// its nonce in one round trip. On Redis Cluster key and claim must
	// share a hash slot (a {hash tag}).
	CheckAndClaim(ctx context.Context, key string, limit int, window time.Duration, now time.Time, claim string, ttl time.Duration) (d LimitDecision, claimed bool, err error)
}

// Broker carries state-change events between instances.
type Broker interface {
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscriber returns the process's one subscription connection; the hub
	// multiplexes every waiter on it.
	Subscriber(ctx context.Context) (Subscriber, error)
}

// Subscriber is one multiplexed subscription.
type Subscriber interface {
	// Subscribe returns once the broker has confirmed every channel, so no
	// later publish can be missed.
	Subscribe(ctx context.Context, channels ...string) error
	Unsubscribe(ctx context.Context, channels ...string) error
	// Events delivers messages, and a Resubscribed event per channel after
	// the connection was lost and restored (messages may have been missed
	// then, so the reader re-reads state). Closed by Close.
	Events() <-chan BrokerMessage
	Close() error
}

// BrokerMessage is a message on a channel, or notice of a resubscription.
type BrokerMessage struct {
	Channel      string
	Payload      []byte
	Resubscribed bool
}
