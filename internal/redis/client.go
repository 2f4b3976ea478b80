// Package redis keeps approvald's short-lived state in Redis: expiring keys
// (core.KV), sliding-window rate limits (core.Limiter) and the pub/sub
// broker that carries approval decisions between instances (core.Broker).
package redis

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/approvald/approvald/internal/core"
)

// DefaultPrefix namespaces every key and channel, so approvald can share a
// Redis database with other programs.
const DefaultPrefix = "approvald:"

// Timeouts used unless the URL sets its own (dial_timeout=…, read_timeout=…,
// write_timeout=…, pool_size=…): short, because every caller is a request
// that would rather fail with 503 than hang.
const (
	defaultDialTimeout  = 2 * time.Second
	defaultReadTimeout  = time.Second
	defaultWriteTimeout = time.Second
)

// Client is one connection pool to Redis. It implements core.KV,
// core.Limiter and core.Broker, and is safe for concurrent use.
type Client struct {
	rdb    *goredis.Client
	prefix string

	mu  sync.Mutex
	sub *subscriber // the process's one subscription; nil until asked for
}

var (
	_ core.KV      = (*Client)(nil)
	_ core.Limiter = (*Client)(nil)
	_ core.Broker  = (*Client)(nil)
	_ core.Pinger  = (*Client)(nil)
)

// Option adjusts a Client being opened.
type Option func(*Client)

// WithPrefix replaces DefaultPrefix; "" uses keys and channels as given.
func WithPrefix(prefix string) Option {
	return func(c *Client) { c.prefix = prefix }
}

// Open connects to the Redis named by url (redis://[user:pass@]host:port/db
// or rediss://…) and pings it once, so a wrong URL fails at startup.
func Open(ctx context.Context, url string, opts ...Option) (*Client, error) {
	o, err := goredis.ParseURL(url)
	if err != nil {
		// The URL may carry a password: name the problem, not the URL.
		return nil, fmt.Errorf("redis: REDIS_URL is not a valid redis:// URL")
	}
	applyDefaults(o)
	c := &Client{rdb: goredis.NewClient(o), prefix: DefaultPrefix}
	for _, opt := range opts {
		opt(c)
	}
	if err := c.Ping(ctx); err != nil {
		_ = c.rdb.Close()
		return nil, err
	}
	return c, nil
}

func applyDefaults(o *goredis.Options) {
	if o.DialTimeout == 0 {
		o.DialTimeout = defaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = defaultReadTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.PoolSize == 0 {
		o.PoolSize = 10 * runtime.GOMAXPROCS(0)
	}
	// Without this, go-redis ignores the caller's deadline on the socket and
	// a request could wait ReadTimeout for an answer it no longer wants.
	o.ContextTimeoutEnabled = true
}

// Ping reports whether Redis answers (for /readyz).
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return core.Unavailable("redis", err)
	}
	return nil
}

// Close closes the subscription, if any, and the pool.
func (c *Client) Close() error {
	c.mu.Lock()
	sub := c.sub
	c.sub = nil
	c.mu.Unlock()
	if sub != nil {
		_ = sub.Close()
	}
	return c.rdb.Close()
}

// key is the Redis name of a caller's key or channel.
func (c *Client) key(name string) string { return c.prefix + name }

// PoolStats is what the connection pool counted (for metrics).
func (c *Client) PoolStats() *goredis.PoolStats { return c.rdb.PoolStats() }
