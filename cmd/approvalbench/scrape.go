package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// metricsText reads approvald's /metrics (its METRICS_ADDR listener).
func (b *bench) metricsText(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.metricsURL+"/metrics", nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return string(body), err
}

// scrape reads the named series (exact name and labels, as the text format
// writes them) from approvald's /metrics.
func (b *bench) scrape(ctx context.Context, series ...string) ([]float64, error) {
	text, err := b.metricsText(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(series))
	for i, name := range series {
		v, ok := seriesValue(text, name)
		if !ok {
			return nil, fmt.Errorf("approvald's /metrics has no %s", name)
		}
		out[i] = v
	}
	return out, nil
}

func seriesValue(text, series string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// bucket is one cumulative histogram bucket: count of samples ≤ le seconds.
type bucket struct {
	le    float64
	count float64
}

// histogram reads the buckets of name whose other labels are labels (as
// written, e.g. `code="200",method="POST"`; "" for none), in order.
func histogram(text, name, labels string) []bucket {
	prefix := name + "_bucket{"
	if labels != "" {
		prefix += labels + ","
	}
	prefix += `le="`
	var out []bucket
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		bound, err1 := strconv.ParseFloat(le, 64)
		count, err2 := strconv.ParseFloat(value, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if le == "+Inf" {
			bound = math.Inf(1)
		}
		out = append(out, bucket{bound, count})
	}
	return out
}

// quantileBound is the upper bound (ms) of the bucket holding the q-th
// quantile of the samples added between two readings; 0 without samples,
// -1 beyond the largest bucket (10 s). Histograms say no more than that:
// "at most".
func quantileBound(before, after []bucket, q float64) float64 {
	if len(before) == 0 { // the series did not exist yet
		before = make([]bucket, len(after))
	}
	if len(after) == 0 || len(before) != len(after) {
		return 0
	}
	total := after[len(after)-1].count - before[len(before)-1].count
	if total <= 0 {
		return 0
	}
	for i := range after {
		if after[i].count-before[i].count >= q*total {
			if math.IsInf(after[i].le, 1) {
				return -1
			}
			return after[i].le * 1000
		}
	}
	return -1
}

// serverSide is what approvald's own histograms say about a window.
type serverSide struct {
	text string
}

// readServerSide takes a reading to compare with a later one.
func (b *bench) readServerSide(ctx context.Context) serverSide {
	text, _ := b.metricsText(ctx)
	return serverSide{text}
}

const callbackLabels = `code="200",method="POST",route="/api/v1/callbacks/approval"`

// serverQuantiles fills the server-side figures of r from two readings.
func serverQuantiles(r *PhaseResult, before, after serverSide) {
	d0, d1 := histogram(before.text, "approvald_decision_to_websocket_seconds", ""), histogram(after.text, "approvald_decision_to_websocket_seconds", "")
	r.ServerDecisionP50, r.ServerDecisionP99 = quantileBound(d0, d1, 0.5), quantileBound(d0, d1, 0.99)
	c0, c1 := histogram(before.text, "approvald_http_request_duration_seconds", callbackLabels), histogram(after.text, "approvald_http_request_duration_seconds", callbackLabels)
	r.ServerCallbackP50, r.ServerCallbackP99 = quantileBound(c0, c1, 0.5), quantileBound(c0, c1, 0.99)
	r.Queues = serverQueues(before, after)
}

// serverQueues reads what could queue a decision inside approvald between
// two readings: GC pauses, scheduler latency, pool waits.
func serverQueues(before, after serverSide) *ServerQueues {
	q := &ServerQueues{}
	p0, p1 := histogram(before.text, "go_sched_pauses_total_gc_seconds", ""), histogram(after.text, "go_sched_pauses_total_gc_seconds", "")
	if n := len(p1); n > 0 && len(p0) == n {
		q.GCPauses = int(p1[n-1].count - p0[n-1].count)
	}
	q.GCPauseP99, q.GCPauseMax = quantileBound(p0, p1, 0.99), quantileBound(p0, p1, 1)
	s0, s1 := histogram(before.text, "go_sched_latencies_seconds", ""), histogram(after.text, "go_sched_latencies_seconds", "")
	q.SchedLatencyP50, q.SchedLatencyP99, q.SchedLatencyMax = quantileBound(s0, s1, 0.5), quantileBound(s0, s1, 0.99), quantileBound(s0, s1, 1)
	delta := func(series string) float64 {
		a, _ := seriesValue(after.text, series)
		b, _ := seriesValue(before.text, series)
		return a - b
	}
	q.DBWaits = int(delta(`approvald_pool_waits_total{pool="database"}`))
	q.DBWaitMs = 1000 * delta(`approvald_pool_wait_seconds_total{pool="database"}`)
	q.RedisWaits = int(delta(`approvald_pool_waits_total{pool="redis"}`))
	q.RedisWaitMs = 1000 * delta(`approvald_pool_wait_seconds_total{pool="redis"}`)
	q.RedisPoolTimeouts = int(delta(`approvald_pool_timeouts_total{pool="redis"}`))
	return q
}
