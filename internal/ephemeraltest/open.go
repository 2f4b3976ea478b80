package ephemeraltest

import (
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/inmem"
	"github.com/approvald/approvald/internal/redis"
	"github.com/approvald/approvald/internal/testenv"
)

// Kind names an implementation, for the tests of services that use one:
// in process, or on the shared test Redis.
type Kind string

const (
	InProcess Kind = "inmem"
	OnRedis   Kind = "redis"
)

// Store is the KV and limiter of one instance.
type Store interface {
	core.KV
	core.Limiter
}

// Open opens an in-process store on clock, or a Redis client whose keys
// share prefix with every other client opened with it (instances of one
// deployment) and nobody else on the shared test server. Redis expires
// keys by its own clock; the limiter still counts by the caller's.
func Open(t testing.TB, kind Kind, clock core.Clock, prefix string) Store {
	t.Helper()
	if kind == InProcess {
		s := inmem.New(clock)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	c, err := redis.Open(Context(t), testenv.RedisURL(t), redis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
