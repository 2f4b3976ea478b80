package texts_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/audittest"
	"github.com/approvald/approvald/internal/clocktest"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/phone"
	"github.com/approvald/approvald/internal/texts"
)

var t0 = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

// inbox is an SMS provider that keeps what it is given.
type inbox struct {
	mu   sync.Mutex
	sent map[string][]string
}

func (in *inbox) Send(_ context.Context, to, body string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.sent == nil {
		in.sent = map[string][]string{}
	}
	in.sent[to] = append(in.sent[to], body)
	return nil
}

func (in *inbox) total() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, m := range in.sent {
		n += len(m)
	}
	return n
}

// counts keeps what Texter.Count is told.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(kind, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[kind+"/"+result]++
}

func (c *counts) get(kind, result string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[kind+"/"+result]
}

type fixture struct {
	clock *clocktest.Clock
	sms   *inbox
	audit *audittest.Log
	count *counts
	log   *strings.Builder
}

func newFixture() *fixture {
	return &fixture{clock: clocktest.New(t0), sms: &inbox{}, audit: &audittest.Log{}, count: &counts{}, log: &strings.Builder{}}
}

// texter is one instance's Texter on eph.
func (f *fixture) texter(eph core.Limiter, limits texts.SMSLimits, policy *phone.SMSPolicy) *texts.Texter {
	return &texts.Texter{
		SMS: f.sms, Limiter: eph, Audit: f.audit, Clock: f.clock, Limits: limits, Phones: policy,
		Count: f.count.add, Log: slog.New(slog.NewTextHandler(lockedWriter{b: f.log}, nil)),
	}
}

type lockedWriter struct{ b *strings.Builder }

var logMu sync.Mutex

func (w lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return w.b.Write(p)
}

func (f *fixture) logs() string {
	logMu.Lock()
	defer logMu.Unlock()
	return f.log.String()
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !core.IsCode(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
