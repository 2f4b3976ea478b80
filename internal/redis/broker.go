package redis

import (
	"context"

	"github.com/approvald/approvald/internal/core"
)

// Publish is PUBLISH on the prefixed channel. A message nobody subscribes to
// is gone; subscribers re-read state after a Resubscribed event instead.
func (c *Client) Publish(ctx context.Context, channel string, payload []byte) error {
	if err := c.rdb.Publish(ctx, c.key(channel), payload).Err(); err != nil {
		return core.Unavailable("redis", err)
	}
	return nil
}

// Subscriber returns the process's one subscription connection, creating it
// (with no channels) on first use; after it was closed, the next call starts
// a fresh one.
func (c *Client) Subscriber(ctx context.Context) (core.Subscriber, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sub == nil || c.sub.closed() {
		c.sub = newSubscriber(ctx, c.rdb, c.prefix)
	}
	return c.sub, nil
}
