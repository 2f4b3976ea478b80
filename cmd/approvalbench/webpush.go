package main

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/push"
	"github.com/approvald/approvald/internal/webpush"
)

// WebPushResult compares encrypted Web Push sends with the machine's raw
// ECDH P-256 rate (each send makes one ephemeral P-256 key and one ECDH,
// RFC 8291, and signs one ES256 VAPID token).
//
// It is a microbenchmark of internal/webpush (on webpush-go) in the harness's process, not
// a measure through approvald: a push per password login would be bounded
// by Argon2id (the login phase's rate) long before Web Push. The sends are
// webpush.Client.SendWebPush, as approvald calls it, over HTTP to a
// receiver in the harness that counts and drains each request (a sample is
// decrypted and checked by webpushtest first); the CPU is the harness's
// own, so it includes the receiver's.
type WebPushResult struct {
	Workers    int     `json:"workers"` // sends in flight at once
	Seconds    float64 `json:"seconds"`
	Sent       int     `json:"sent"`     // answered 201
	Received   int64   `json:"received"` // counted by the receiver
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	PerSecond  float64 `json:"per_second"`
	// Cores the harness used during the sends (sender and receiver), and
	// sends per second per such core.
	HarnessCores float64 `json:"harness_cores"`
	PerCore      float64 `json:"per_second_per_core"`
	HarnessMsPer float64 `json:"harness_cpu_ms_per_push"`
	OtherCores   float64 `json:"other_cores"`
	// The raw rate: ecdh.P256 GenerateKey + ECDH on GOMAXPROCS goroutines,
	// half the phase's time before the sends and half after; Ratio is
	// PerSecond / the mean.
	ECDHBefore    float64 `json:"p256_ecdh_before"`
	ECDHAfter     float64 `json:"p256_ecdh_after"`
	ECDHPerSecond float64 `json:"p256_ecdh_per_second"`
	Ratio         float64 `json:"ratio"`
	ECDHCPUMs     float64 `json:"p256_cpu_ms_per_ecdh"`
	CPURatio      float64 `json:"cpu_ratio"` // raw ECDH CPU over a send's CPU
	// Latency through approvald (-webpush-devices > 0).
	Latency *WebPushLatency `json:"latency,omitempty"`
}

// webpushPhase sends encrypted pushes with internal/webpush for -webpush,
// -webpush-workers at a time, between two samples of the raw ECDH P-256
// rate.
func (b *bench) webpushPhase(ctx context.Context) (*WebPushResult, error) {
	cfg := b.cfg
	serverKey := ed25519.NewKeyFromSeed(core.RandomBytes(ed25519.SeedSize))
	vapid, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	client, err := webpush.New(webpush.Config{ServerKey: serverKey, VAPID: vapid, Subject: "mailto:bench@example.com",
		Policy: push.Policy{AllowLoopback: true}, Attempts: 1})
	if err != nil {
		return nil, err
	}
	defer client.Close()
	payload := []byte(`{"approval_id":"apr_0123456789abcdefghijklmn","device_id":"dev_0123456789abcdefghijklmn",` +
		`"message":"Login request","match_number":42,"expires_at":"2026-12-07T23:59:59Z"}`)

	recv, err := newPushReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.close()
	subs := make([]core.WebPush, cfg.WebPushWorkers)
	var ua0 *ecdh.PrivateKey
	for i := range subs {
		ua, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			ua0 = ua
		}
		subs[i] = core.WebPush{Endpoint: recv.url + "/push/" + core.NewSecret(16), P256dh: ua.PublicKey().Bytes(),
			Auth: core.RandomBytes(webpush.AuthSecretSize)}
	}
	// One send first, kept by the receiver and decrypted here as a browser
	// would: the timed sends are then only counted.
	if err := client.SendWebPush(ctx, "dev_bench", subs[0], payload, time.Minute); err != nil {
		return nil, fmt.Errorf("webpush: the first send: %w", err)
	}
	plain, err := webpush.Decrypt(recv.first(), ua0, subs[0].Auth)
	if err != nil {
		return nil, fmt.Errorf("webpush: the first push does not decrypt: %w", err)
	}
	var signed webpush.Signed
	if err := json.Unmarshal(plain, &signed); err != nil || signed.Body != string(payload) {
		return nil, fmt.Errorf("webpush: the first push decrypts to %q (%v)", plain, err)
	}
	recv.count.Store(0)

	half := cfg.WebPush / 2
	b.say("webpush: raw ECDH P-256 rate (GenerateKey + ECDH), %s on every core", half)
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	raw := func() error {
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		_, err = k.ECDH(peer.PublicKey())
		return err
	}
	before, err := b.rawSample(ctx, half, raw)
	if err != nil {
		return nil, err
	}

	b.say("webpush: %d encrypted sends at a time for %s", cfg.WebPushWorkers, cfg.WebPush)
	r := &WebPushResult{Workers: cfg.WebPushWorkers}
	o := watchOthers(b.srv.PID())
	c0, _ := cpuTime(os.Getpid())
	var sent, errs int64
	var first atomic.Pointer[error]
	start := time.Now()
	deadline := start.Add(cfg.WebPush)
	var wg sync.WaitGroup
	for i := range cfg.WebPushWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if err := client.SendWebPush(ctx, "dev_bench", subs[i], payload, time.Minute); err != nil {
					atomic.AddInt64(&errs, 1)
					first.CompareAndSwap(nil, &err)
					continue
				}
				atomic.AddInt64(&sent, 1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	c1, _ := cpuTime(os.Getpid())
	r.OtherCores = o.Cores()

	b.say("webpush: raw ECDH P-256 rate again, %s on every core", half)
	after, err := b.rawSample(ctx, half, raw)
	if err != nil {
		return nil, err
	}

	r.Seconds, r.Sent, r.Errors, r.Received = took.Seconds(), int(sent), int(errs), recv.count.Load()
	if e := first.Load(); e != nil {
		r.FirstError = (*e).Error()
	}
	r.PerSecond = float64(r.Sent) / r.Seconds
	cpu := c1 - c0
	r.HarnessCores = cpu.Seconds() / r.Seconds
	if r.HarnessCores > 0 {
		r.PerCore = r.PerSecond / r.HarnessCores
	}
	if r.Sent > 0 {
		r.HarnessMsPer = ms(cpu) / float64(r.Sent)
	}
	r.ECDHBefore, r.ECDHAfter, r.ECDHPerSecond, r.ECDHCPUMs = rawPair(before, after)
	if r.ECDHPerSecond > 0 {
		r.Ratio = r.PerSecond / r.ECDHPerSecond
	}
	if r.HarnessMsPer > 0 {
		r.CPURatio = r.ECDHCPUMs / r.HarnessMsPer
	}
	b.say("webpush: %.0f pushes/s (%d, %d errors) on %.2f harness cores, %.0f/s per core; raw ECDH P-256 %.0f/s; ratio %.1f %%",
		r.PerSecond, r.Sent, r.Errors, r.HarnessCores, r.PerCore, r.ECDHPerSecond, r.Ratio*100)
	if cfg.WebPushDevices > 0 {
		if r.Latency, err = b.webpushLatency(ctx); err != nil {
			return r, err
		}
	}
	if r.Sent == 0 {
		return r, fmt.Errorf("webpush: no push sent (%d errors; first: %s)", r.Errors, r.FirstError)
	}
	return r, nil
}

// pushReceiver is the cheap push service of the throughput run: it counts
// each POST, drains its body and answers 201, decrypting nothing.
type pushReceiver struct {
	url   string
	srv   *http.Server
	ln    net.Listener
	count atomic.Int64

	mu       sync.Mutex
	body0    []byte               // the first request's body
	arrivals map[string]time.Time // endpoint → first arrival, when set
}

func (p *pushReceiver) arrival(endpoint string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.arrivals[endpoint]
	return t, ok
}

func (p *pushReceiver) first() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.body0
}

func newPushReceiver() (*pushReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &pushReceiver{url: "http://" + ln.Addr().String(), ln: ln}
	p.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		p.mu.Lock()
		if p.arrivals != nil {
			if _, seen := p.arrivals[p.url+r.URL.Path]; !seen {
				p.arrivals[p.url+r.URL.Path] = at
			}
		}
		p.mu.Unlock()
		if p.count.Add(1) == 1 {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<10))
			p.mu.Lock()
			p.body0 = body
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *pushReceiver) close() { _ = p.srv.Close() }
