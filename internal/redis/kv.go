package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/approvald/approvald/internal/core"
)

// SetNX is SET key value PX ttl NX: the TTL lives on the server, so every
// instance sees the key die at the same moment.
func (c *Client) SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		// A key without expiry would live forever; that is a caller's bug.
		return false, fmt.Errorf("redis: SetNX needs a positive ttl, got %v", ttl)
	}
	ok, err := c.rdb.SetNX(ctx, c.key(key), value, ttl).Result()
	if err != nil {
		return false, core.Unavailable("redis", err)
	}
	return ok, nil
}

func (c *Client) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := c.rdb.Get(ctx, c.key(key)).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, core.Unavailable("redis", err)
	}
	return v, true, nil
}

func (c *Client) Del(ctx context.Context, key string) error {
	if err := c.rdb.Del(ctx, c.key(key)).Err(); err != nil {
		return core.Unavailable("redis", err)
	}
	return nil
}

// TTL is PTTL; the negative answers (-2 absent, -1 no expiry) become 0.
func (c *Client) TTL(ctx context.Context, key string) (time.Duration, error) {
	d, err := c.rdb.PTTL(ctx, c.key(key)).Result()
	if err != nil {
		return 0, core.Unavailable("redis", err)
	}
	if d < 0 {
		return 0, nil
	}
	return d, nil
}
