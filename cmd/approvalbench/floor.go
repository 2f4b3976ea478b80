package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/approvald/approvald/internal/core"
)

// floor times the bare Redis round trip the server's path rests on:
// PUBLISH on one go-redis connection → the message read on a subscribed
// one, at rate per second for d. Each message carries its send time.
func floor(ctx context.Context, redisURL string, rate float64, d time.Duration) (Latency, error) {
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		return Latency{}, err
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	channel := "approvalbench:floor:" + core.NewID("")
	sub := rdb.Subscribe(ctx, channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscribe confirmation
		return Latency{}, fmt.Errorf("redis subscribe: %w", err)
	}
	msgs := sub.Channel(goredis.WithChannelSize(1024))

	n := max(1, int(rate*d.Seconds()))
	samples := make([]time.Duration, 0, n)
	received := make(chan time.Duration, n)
	go func() {
		for m := range msgs {
			at := time.Now()
			sent, err := strconv.ParseInt(m.Payload, 10, 64)
			if err == nil {
				received <- at.Sub(time.Unix(0, sent))
			}
		}
	}()
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		if err := rdb.Publish(ctx, channel, strconv.FormatInt(time.Now().UnixNano(), 10)).Err(); err != nil {
			return Latency{}, fmt.Errorf("redis publish: %w", err)
		}
	}
	deadline := time.After(5 * time.Second)
	for len(samples) < n {
		select {
		case s := <-received:
			samples = append(samples, s)
		case <-deadline:
			return Latency{}, fmt.Errorf("redis floor: %d of %d messages arrived", len(samples), n)
		case <-ctx.Done():
			return Latency{}, ctx.Err()
		}
	}
	return summarize(samples), nil
}
