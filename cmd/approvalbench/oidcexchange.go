package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// OIDCExchange is the oidc phase's second part: code exchanges alone, as
// the goal counts them. Codes are minted first, untimed (each worker runs
// the browser part of its flows for a while and keeps the codes); then
// every worker exchanges its codes (POST /oidc/token, client_secret_basic,
// the PKCE verifier) one after another until none is left, and only that
// is timed. An exchange signs one ID token, so its rate is held against
// the phase's raw RS256 rate.
type OIDCExchange struct {
	Codes      int     `json:"codes"` // minted before the timed part
	Exchanges  int     `json:"exchanges"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	Token      Latency `json:"token"`
	// Ratio is PerSecond over the phase's raw RS256 rate (the mean of its
	// two samples); CPURatio and CPURatioAll as OIDCResult's, per exchange.
	Ratio        float64 `json:"ratio"`
	CPURatio     float64 `json:"cpu_ratio"`
	CPURatioAll  float64 `json:"cpu_ratio_all"`
	ServerCores  float64 `json:"server_cores"`
	DepsCores    float64 `json:"deps_cores"`
	HarnessCores float64 `json:"harness_cores"`
	OtherCores   float64 `json:"other_cores"`
	ServerMsPer  float64 `json:"server_cpu_ms_per_exchange"`
	DepsMsPer    float64 `json:"deps_cpu_ms_per_exchange"`
	HarnessMsPer float64 `json:"harness_cpu_ms_per_exchange"`
}

// minted is a code and its PKCE verifier.
type minted struct{ code, verifier string }

// oidcExchanges mints codes on flows for mint, then times their exchange.
func (b *bench) oidcExchanges(ctx context.Context, flows []*codeFlow, mint time.Duration) (*OIDCExchange, error) {
	codes := make([][]minted, len(flows))
	var mu sync.Mutex
	b.say("oidc: minting codes on %d workers for %s (untimed)", len(flows), mint)
	run := runWorkers(ctx, len(flows), mint, func(ctx context.Context, i int) (time.Duration, time.Duration, error) {
		code, verifier, err := flows[i].authorize(ctx)
		if err == nil {
			mu.Lock()
			codes[i] = append(codes[i], minted{code, verifier})
			mu.Unlock()
		}
		return 0, 0, err
	})
	r := &OIDCExchange{Codes: len(run.whole)}
	if r.Codes == 0 {
		return r, fmt.Errorf("oidc: no code minted (%d errors; first: %v)", run.errors, run.first)
	}

	b.say("oidc: exchanging the %d codes, %d at a time", r.Codes, len(flows))
	took := make([][]time.Duration, len(flows))
	errs := make([]error, len(flows))
	errCount := make([]int, len(flows))
	// With -pprof-dir, a CPU profile of the exchanges' first 2 s.
	stopProfile := b.profile(ctx, "oidc-exchange-cpu", 2)
	harness0, _ := cpuTime(os.Getpid())
	var start time.Time
	var wall time.Duration
	cpu := b.measureCPU(func() {
		start = time.Now()
		var wg sync.WaitGroup
		for i, f := range flows {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, m := range codes[i] {
					t0 := time.Now()
					if _, err := f.exchange(ctx, m.code, m.verifier); err != nil {
						if errCount[i]++; errs[i] == nil {
							errs[i] = err
						}
						continue
					}
					took[i] = append(took[i], time.Since(t0))
				}
			}()
		}
		wg.Wait()
		wall = time.Since(start)
	})
	harness1, _ := cpuTime(os.Getpid())
	stopProfile()
	var all []time.Duration
	for i := range flows {
		all = append(all, took[i]...)
		r.Errors += errCount[i]
		if r.FirstError == "" && errs[i] != nil {
			r.FirstError = errs[i].Error()
		}
	}
	r.Exchanges, r.Seconds, r.Token = len(all), wall.Seconds(), summarize(all)
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Exchanges) / r.Seconds
	}
	s := splitCPU(cpu, harness1-harness0, r.Exchanges)
	r.ServerCores, r.DepsCores, r.HarnessCores, r.OtherCores = s.serverCores, s.depsCores, s.harnessCores, cpu.otherCores
	r.ServerMsPer, r.DepsMsPer, r.HarnessMsPer = s.serverMs, s.depsMs, s.harnessMs
	if r.Exchanges == 0 {
		return r, fmt.Errorf("oidc: no code exchanged (%d errors; first: %s)", r.Errors, r.FirstError)
	}
	return r, nil
}

// rate fills the ratios once the raw RS256 samples are known.
func (r *OIDCExchange) rate(signPerSecond, signCPUMs float64) {
	if signPerSecond > 0 {
		r.Ratio = r.PerSecond / signPerSecond
	}
	if r.ServerMsPer > 0 {
		r.CPURatio = signCPUMs / r.ServerMsPer
		r.CPURatioAll = signCPUMs / (r.ServerMsPer + r.DepsMsPer + r.HarnessMsPer)
	}
}
