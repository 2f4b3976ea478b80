package redis

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/approvald/approvald/internal/core"
)

//go:embed sliding_window.lua
var slidingWindowSource string

// slidingWindow runs by EVALSHA, falling back to EVAL once per server.
var slidingWindow = goredis.NewScript(slidingWindowSource)

// limiterNamespace keeps limiter logs apart from KV keys of the same name
// (they are different Redis types).
const limiterNamespace = "rate:"

// memberSeq and memberSalt make each recorded event a distinct member even
// when many arrive in the same microsecond from many instances.
var (
	memberSeq  atomic.Uint64
	memberSalt = core.NewSecret(6)
)

func (c *Client) Hit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, error) {
	d, _, _, err := c.slide(ctx, key, limit, window, now, true, "", 0)
	return d, err
}

// Reserve is Hit; the token is the event's member in the sorted set.
func (c *Client) Reserve(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, string, error) {
	d, _, member, err := c.slide(ctx, key, limit, window, now, true, "", 0)
	if err != nil || !d.Allowed {
		return d, "", err
	}
	return d, member, nil
}

func (c *Client) Release(ctx context.Context, key, token string) error {
	if token == "" {
		return nil
	}
	if err := c.rdb.ZRem(ctx, c.key(limiterNamespace+key), token).Err(); err != nil {
		return core.Unavailable("redis", err)
	}
	return nil
}

func (c *Client) Check(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (core.LimitDecision, error) {
	d, _, _, err := c.slide(ctx, key, limit, window, now, false, "", 0)
	return d, err
}

// CheckAndClaim is Check and, when allowed, SetNX(claim, ttl), by one script.
func (c *Client) CheckAndClaim(ctx context.Context, key string, limit int, window time.Duration, now time.Time, claim string, ttl time.Duration) (core.LimitDecision, bool, error) {
	if ttl <= 0 {
		return core.LimitDecision{}, false, fmt.Errorf("redis: CheckAndClaim needs a positive ttl, got %v", ttl)
	}
	d, claimed, _, err := c.slide(ctx, key, limit, window, now, false, claim, ttl)
	return d, claimed, err
}

func (c *Client) Reset(ctx context.Context, key string) error {
	if err := c.rdb.Del(ctx, c.key(limiterNamespace+key)).Err(); err != nil {
		return core.Unavailable("redis", err)
	}
	return nil
}

// slide runs the script; with a claim key, it also claims that for ttl. It
// returns the member it would record.
func (c *Client) slide(ctx context.Context, key string, limit int, window time.Duration, now time.Time, record bool, claim string, ttl time.Duration) (core.LimitDecision, bool, string, error) {
	if limit < 1 || window < time.Microsecond {
		return core.LimitDecision{}, false, "", fmt.Errorf("redis: limiter needs limit >= 1 and window >= 1µs, got %d and %v", limit, window)
	}
	nowUS := now.UnixMicro()
	windowUS := window.Microseconds()
	expireMS := int64((window + time.Millisecond - 1) / time.Millisecond) // PEXPIRE rounds up
	member := memberSalt + strconv.FormatUint(memberSeq.Add(1), 36)
	flag := "0"
	if record {
		flag = "1"
	}
	keys := []string{c.key(limiterNamespace + key)}
	args := []any{nowUS, nowUS - windowUS, limit, expireMS, member, flag}
	if claim != "" {
		keys = append(keys, c.key(claim))
		args = append(args, int64((ttl+time.Millisecond-1)/time.Millisecond))
	}
	res, err := slidingWindow.Run(ctx, c.rdb, keys, args...).Slice()
	if err != nil {
		return core.LimitDecision{}, false, "", core.Unavailable("redis", err)
	}
	d, claimed, err := decode(res, nowUS, windowUS)
	return d, claimed, member, err
}

// decode turns the script's {allowed, count, blocking score, claimed} into
// a Decision and whether the claim was made.
func decode(res []any, nowUS, windowUS int64) (core.LimitDecision, bool, error) {
	if len(res) != 4 {
		return core.LimitDecision{}, false, fmt.Errorf("redis: limiter script returned %d values", len(res))
	}
	allowed, _ := res[0].(int64)
	count, _ := res[1].(int64)
	claimed, _ := res[3].(int64)
	d := core.LimitDecision{Allowed: allowed == 1, Count: int(count)}
	if d.Allowed {
		return d, claimed == 1, nil
	}
	score, _ := res[2].(string)
	blockingUS, err := strconv.ParseFloat(score, 64)
	if err != nil {
		return core.LimitDecision{}, false, fmt.Errorf("redis: limiter script returned score %q", score)
	}
	d.RetryAfter = time.Duration(int64(blockingUS)+windowUS-nowUS) * time.Microsecond
	return d, false, nil
}
