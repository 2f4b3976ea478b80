package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/testenv"
)

// bench is one run's moving parts.
type bench struct {
	cfg  *config
	say  func(format string, args ...any)
	src  *sourceAddrs
	http *http.Client
	api  *api

	// approvald runs through internal/e2e, which reports to tb and stops
	// what it started when tb is closed.
	tb          *benchTB
	srv         *e2e.Server
	opts        e2e.Options // how srv was started: the memory figure starts it again
	metricsURL  string      // its METRICS_ADDR listener
	inbox       *e2e.Inbox
	databaseURL string
	oidcSecret  string // of the client the oidc phase registers (CLIENTS_FILE)
}

// close stops what the run started, whatever got started, and drops the
// bench's database.
func (b *bench) close() {
	if err := b.tb.close(); err != nil {
		b.say("%v", err)
	}
}

// run performs the phases cfg asks for and returns what they measured. It
// returns the partial result with an error when a phase fails.
func run(ctx context.Context, cfg *config, progress io.Writer) (*Result, error) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b := &bench{cfg: cfg, say: func(format string, args ...any) {
		fmt.Fprintf(progress, "approvalbench %6.1fs: %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}}
	b.tb = &benchTB{say: b.say}
	defer b.close()

	kWS, kPoll := 0, 0
	if cfg.has("ws") {
		kWS = decided(cfg.Rate, cfg.Duration)
	}
	if cfg.has("poll") {
		kPoll = decided(cfg.PollRate, cfg.Duration)
	}
	open := cfg.Waiting + kWS // browsers waiting at once
	extra := 0                // the memory phase's browsers beyond them
	if cfg.has("memory") {
		extra = max(0, cfg.MemoryWebsockets-open)
	}
	held := 0 // connections they hold: none for the login phase alone
	if cfg.has("memory") || cfg.has("ws") || cfg.has("poll") {
		held = open + extra
	}
	const spare = 4096 // HTTP connections, files, the runtime
	limit, err := raiseFileLimit(uint64(held + spare))
	if err != nil && extra > 0 && limit >= uint64(held-extra+spare) {
		// Where the hard limit cannot be raised (no CAP_SYS_RESOURCE), the
		// memory phase holds what it allows, and its target says so.
		extra = int(limit) - spare - (held - extra)
		held = open + extra
		fmt.Fprintf(progress, "approvalbench: the file-descriptor limit is %d: the memory phase holds %d websockets, not %d\n",
			limit, held, cfg.MemoryWebsockets)
		err = nil
	}
	if err != nil {
		return nil, err
	}
	b.src = newSourceAddrs(held + spare)
	b.http = newHTTPClient(b.src, 1024)
	res := &Result{
		StartedAt: began.UTC(), Machine: describeMachine(),
		Config: ResultConfig{
			Waiting: cfg.Waiting, Rate: cfg.Rate, PollRate: cfg.PollRate, DurationSeconds: cfg.Duration.Seconds(),
			IdleSeconds: cfg.Idle.Seconds(), PollEverySeconds: cfg.PollEvery.Seconds(), Seed: cfg.Seed,
			FileLimit: limit, SourceAddresses: len(b.src.ips),
		},
	}
	finish := func(err error) (*Result, error) {
		res.Targets = targets(cfg, res)
		res.Seconds = time.Since(began).Seconds()
		return res, err
	}

	// Before approvald starts, so nothing else competes for the cores.
	var argon, argonOthers float64
	if cfg.has("login") {
		b.say("raw Argon2id hash rate, %s on every core", cfg.Argon)
		o := watchOthers(0)
		if argon, err = argonRate(ctx, cfg.Argon); err != nil {
			return finish(err)
		}
		argonOthers = o.Cores()
	}
	if cfg.has("floor") {
		b.say("Redis floor: PUBLISH → SUBSCRIBE at %.0f/s for %s", cfg.Rate, cfg.Floor)
		var fl Latency
		withoutGC(func() { fl, err = floor(ctx, cfg.RedisURL, cfg.Rate, cfg.Floor) })
		if err != nil {
			return finish(err)
		}
		res.Floor = &fl
	}

	if err := b.startServer(ctx); err != nil {
		return finish(err)
	}
	if s, err := postgresSettings(ctx, b.databaseURL); err == nil {
		res.Config.Postgres = &s
	}

	if !needsUsers(cfg) {
		// No user to seed nor log in: the flows alone, if asked.
		if err := b.flowPhases(ctx, res); err != nil {
			return finish(err)
		}
		b.say("done")
		return finish(b.alive())
	}

	n := open + kPoll
	b.say("seeding %d users with a device (%s)", n, cfg.Seed)
	users, err := b.seed(ctx, n)
	if err != nil {
		return finish(err)
	}
	b.say("logging %d users in (%d at a time)", n, cfg.Concurrency)
	stopProfile := b.profile(ctx, "login-cpu", min(30, max(1, int(float64(n)/60))))
	var took time.Duration
	harness0, _ := cpuTime(os.Getpid())
	cpu := b.measureCPU(func() { took, err = loginAll(ctx, b.api, users, cfg.Concurrency) })
	harness1, _ := cpuTime(os.Getpid())
	stopProfile()
	if err != nil {
		return finish(err)
	}
	// Again after the logins (approvald idle), since the machine's speed
	// drifts over minutes: the logins are held against the mean of both.
	var argonAfter float64
	if cfg.has("login") {
		b.say("raw Argon2id hash rate again, %s on every core", cfg.Argon)
		if argonAfter, err = argonRate(ctx, cfg.Argon); err != nil {
			return finish(err)
		}
	}
	res.Login = newLoginResult(n, took, argon, argonAfter)
	res.Login.OtherCoresArgon, res.Login.OtherCoresLogin = argonOthers, cpu.otherCores
	res.Login.ServerCores = cpu.server.Seconds() / cpu.wall.Seconds()
	res.Login.DepsCores = cpu.deps.Seconds() / cpu.wall.Seconds()
	res.Login.HarnessCores = (harness1 - harness0).Seconds() / cpu.wall.Seconds()

	// After the logins (whose Argon2id would compete) and before the
	// memory phase, which restarts approvald anyway.
	if err := b.flowPhases(ctx, res); err != nil {
		return finish(err)
	}

	idle, wsDecided, pollDecided := users[:cfg.Waiting], users[cfg.Waiting:open], users[open:]
	var onlyWait []*user
	if extra > 0 {
		b.say("writing %d more pending approvals for the memory phase", extra)
		if onlyWait, err = holdApprovals(ctx, b.databaseURL, extra, cfg.Concurrency); err != nil {
			return finish(err)
		}
	}
	if cfg.has("memory") || cfg.has("ws") {
		if res.Memory, res.WS, err = b.wsPhase(ctx, idle, wsDecided, onlyWait); err != nil {
			return finish(err)
		}
	}
	if cfg.has("poll") {
		if res.Poll, err = b.pollPhase(ctx, idle, pollDecided); err != nil {
			return finish(err)
		}
	}
	b.say("done")
	return finish(b.alive())
}

// flowPhases runs the oidc, passkey and webpush phases, those asked for.
func (b *bench) flowPhases(ctx context.Context, res *Result) (err error) {
	if b.cfg.has("oidc") {
		if res.OIDC, err = b.oidcPhase(ctx); err != nil {
			return err
		}
	}
	if b.cfg.has("passkey") {
		if res.Passkey, err = b.passkeyPhase(ctx); err != nil {
			return err
		}
	}
	if b.cfg.has("webpush") {
		if res.WebPush, err = b.webpushPhase(ctx); err != nil {
			return err
		}
	}
	return nil
}

// needsUsers: the phases that log the seeded users in, or use their
// approvals (the login phase, and the browsers of memory, ws and poll).
func needsUsers(cfg *config) bool {
	return cfg.has("login") || cfg.has("memory") || cfg.has("ws") || cfg.has("poll")
}

func (b *bench) startServer(ctx context.Context) error {
	dbURL, drop, err := testenv.CreateDatabase(ctx, b.cfg.DatabaseURL, "approvalbench_")
	if err != nil {
		return fmt.Errorf("creating the bench database: %w", err)
	}
	b.tb.Cleanup(drop) // the last thing close does
	b.databaseURL = dbURL
	if b.cfg.Durable {
		if err := makeDurable(ctx, dbURL); err != nil {
			return err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	b.metricsURL = "http://" + metricsAddr
	env := serverEnv(addr, dbURL, b.cfg.RedisURL, metricsAddr, b.cfg.ServerEnv)
	if _, set := env["PUBLIC_URL"]; b.cfg.has("passkey") && !set {
		// Passkeys need a host name for their RP ID: an IP address turns
		// them off. approvald still listens on 127.0.0.1 only.
		if env["PUBLIC_URL"], err = passkeyPublicURL(addr); err != nil {
			return err
		}
	}
	if b.cfg.has("oidc") {
		dir, err := os.MkdirTemp("", "approvalbench-clients-")
		if err != nil {
			return err
		}
		b.tb.Cleanup(func() { _ = os.RemoveAll(dir) })
		clients, secret, err := oidcClientEnv(dir)
		if err != nil {
			return err
		}
		maps.Copy(env, clients)
		b.oidcSecret = secret
	}
	b.opts = e2e.Options{
		Binary: b.cfg.Approvald,
		Env:    env,
		Bare:   true, // none of the test defaults: the bench's settings alone
		// The tail of the log, for the error when approvald exits.
		LogLimit: 64 << 10,
	}
	if b.cfg.ServerLog != "" {
		f, err := os.OpenFile(b.cfg.ServerLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		b.tb.Cleanup(func() { _ = f.Close() }) // after approvald stopped
		b.opts.Stderr = f
	}
	b.say("starting %s on %s (metrics on %s)", b.cfg.Approvald, addr, metricsAddr)
	return b.tb.attempt(func() {
		b.inbox = e2e.NewInbox(b.tb)
		b.opts.SMS = b.inbox
		b.srv = e2e.Start(b.tb, b.opts)
		b.api = &api{base: b.srv.URL, http: b.http}
	})
}

// restartServer starts approvald afresh on the same address, database,
// Redis, key and SMS inbox: the memory figure then counts websockets, not
// the garbage of the logins before them.
func (b *bench) restartServer() error {
	_ = b.srv.Stop() // an unclean stop is reported when the run closes
	b.http.CloseIdleConnections()
	return b.tb.attempt(func() {
		b.srv = e2e.Start(b.tb, b.opts)
		b.api.base = b.srv.URL
	})
}

func (b *bench) seed(ctx context.Context, n int) ([]*user, error) {
	if b.cfg.Seed == "api" {
		return seedAPI(ctx, b.api, b.inbox, b.http, n, b.cfg.Concurrency)
	}
	return seedDB(ctx, b.databaseURL, b.srv.URL, b.http, n, b.cfg.Concurrency)
}

// wsPhase opens a websocket per waiting and per to-be-decided browser,
// measures the server's memory for them, its CPU while they only wait, and
// then decides the second group at the configured rate.
//
// onlyWait are the memory phase's further browsers: open for its reading
// only, so that the ws phase runs with N + K.
func (b *bench) wsPhase(ctx context.Context, idle, toDecide, onlyWait []*user) (*MemoryResult, *PhaseResult, error) {
	all := slices.Concat(idle, toDecide)
	var mem *MemoryResult
	var before memSample
	if b.cfg.has("memory") {
		b.say("restarting approvald for the memory figure")
		if err := b.restartServer(); err != nil {
			return nil, nil, err
		}
		b.warmUp(ctx, all)
		var err error
		if before, err = b.sampleMemory(ctx); err != nil {
			return nil, nil, err
		}
	}
	b.say("opening %d websockets", len(all)+len(onlyWait))
	browsers, err := openBrowsers(ctx, b.srv.URL, b.srv.PublicURL, b.src, all, 64)
	if err != nil {
		return nil, nil, fmt.Errorf("%w\n%s", err, b.srv.Logs.String())
	}
	defer closeBrowsers(browsers)
	if b.cfg.has("memory") {
		waiters, err := openBrowsers(ctx, b.srv.URL, b.srv.PublicURL, b.src, onlyWait, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%w\n%s", err, b.srv.Logs.String())
		}
		sleep(ctx, b.cfg.Settle) // the last handshakes finish
		after, err := b.sampleMemory(ctx)
		if err != nil {
			closeBrowsers(waiters)
			return nil, nil, err
		}
		mem = memoryPerWebsocket(len(all)+len(waiters), before, after)
		b.say("memory: %.1f KiB RSS per websocket", mem.PerWebsocketKiB)
		b.saveProfile(ctx, "ws-heap", "heap?gc=1", 0)
		closeBrowsers(waiters)
	}
	if !b.cfg.has("ws") {
		return mem, nil, nil
	}

	r := &PhaseResult{Waiting: len(idle), Decided: len(toDecide), Rate: b.cfg.Rate}
	b.say("ws: %d websockets waiting, idle for %s", len(all), b.cfg.Idle)
	cpu := b.measureCPU(func() { sleep(ctx, b.cfg.Idle) })
	r.IdleCPUSeconds, r.IdleDepsCPUSeconds = cpu.server.Seconds(), cpu.deps.Seconds()
	r.IdleCPUPerBrowser = perBrowserMinute(cpu.server, len(all), cpu.wall)
	r.IdleTotalPerBrowser = perBrowserMinute(cpu.server+cpu.deps, len(all), cpu.wall)
	r.IdleOtherCores, r.IdleRedisCPUSeconds = cpu.otherCores, cpu.redis.Seconds()

	b.say("ws: approving %d at %.0f/s", len(toDecide), b.cfg.Rate)
	// The allocations of the decision window: pprof -sample_index=alloc_space
	// -base ws-allocs-before. (A heap profile: only that one can be asked
	// to collect first, and only after a collection is it up to date.)
	b.saveProfile(ctx, "ws-allocs-before", "heap?gc=1", 0)
	stopProfile := b.profile(ctx, "ws-decide-cpu", int(b.cfg.Duration.Seconds()))
	stopTrace := b.trace(ctx, "ws-decide", b.cfg.Trace)
	var d *decisions
	decidedBrowsers := browsers[len(idle):]
	reading, wal := b.readServerSide(ctx), b.readWAL(ctx)
	cpu = b.measureCPU(func() {
		withoutGC(func() {
			d = decideAtRate(ctx, toDecide, b.cfg.Rate)
			awaitFrames(ctx, d, decidedBrowsers, 5*time.Second)
		})
	})
	stopProfile()
	stopTrace()
	b.saveProfile(ctx, "ws-allocs-after", "heap?gc=1", 0)
	serverQuantiles(r, reading, b.readServerSide(ctx))
	r.WAL = walFigure(wal, b.readWAL(ctx), len(toDecide))
	r.DecideRedisCPUSeconds = cpu.redis.Seconds()
	r.DecideCPUSeconds, r.DecideDepsSeconds = cpu.server.Seconds(), cpu.deps.Seconds()
	r.DecideCPUPerBrowser = perBrowserMinute(cpu.server, len(all), cpu.wall)
	r.DecideOtherCores = cpu.otherCores
	samples, lost := d.latencies(func(i int) int64 { return decidedBrowsers[i].approvedAt.Load() })
	r.Latency, r.Lost = summarize(samples), lost
	r.Errors = int(d.errors.Load())
	for _, br := range browsers[:len(idle)] {
		if br.broken.Load() {
			r.Errors++
		}
	}
	if err := d.err(); err != nil {
		r.FirstError = err.Error()
		b.say("ws: first callback error: %v", err)
	}
	b.say("ws: p50 %.2f ms, p99 %.2f ms, %d lost, %d errors", r.Latency.P50, r.Latency.P99, r.Lost, r.Errors)
	return mem, r, b.alive()
}

// pollPhase has the same waiting browsers poll instead: the idle ones (still
// pending from the ws phase) and a group of its own to decide.
func (b *bench) pollPhase(ctx context.Context, idle, toDecide []*user) (*PhaseResult, error) {
	all := slices.Concat(idle, toDecide)
	r := &PhaseResult{Waiting: len(idle), Decided: len(toDecide), Rate: b.cfg.PollRate}
	b.say("poll: %d browsers polling every %s", len(all), b.cfg.PollEvery)
	// A pool of its own, keeping every connection: when answers slow down,
	// more polls are in flight at once, and a connection closed for want of
	// room in the pool would be one more port in TIME_WAIT. Capped, so an
	// overloaded server does not also run out of file descriptors (polls
	// then wait in the client, which counts in their latency).
	pollHTTP := newHTTPClient(b.src, min(len(all), pollConns))
	defer pollHTTP.CloseIdleConnections()
	p := startPollers(ctx, &api{base: b.api.base, http: pollHTTP}, all, b.cfg.PollEvery)
	defer p.Stop()
	sleep(ctx, b.cfg.PollEvery+b.cfg.PollEvery/4) // every poller has started

	b.say("poll: idle for %s", b.cfg.Idle)
	polls := p.polls.Load()
	stopProfile := b.profile(ctx, "poll-idle-cpu", int(b.cfg.Idle.Seconds()))
	cpu := b.measureCPU(func() { sleep(ctx, b.cfg.Idle) })
	stopProfile()
	r.PollsPerSecond = float64(p.polls.Load()-polls) / cpu.wall.Seconds()
	r.IdleCPUSeconds, r.IdleDepsCPUSeconds = cpu.server.Seconds(), cpu.deps.Seconds()
	r.IdleCPUPerBrowser = perBrowserMinute(cpu.server, len(all), cpu.wall)
	r.IdleTotalPerBrowser = perBrowserMinute(cpu.server+cpu.deps, len(all), cpu.wall)
	r.IdleOtherCores, r.IdleRedisCPUSeconds = cpu.otherCores, cpu.redis.Seconds()

	b.say("poll: approving %d at %.0f/s", len(toDecide), b.cfg.PollRate)
	var d *decisions
	before := b.readServerSide(ctx)
	cpu = b.measureCPU(func() {
		d = decideAtRate(ctx, toDecide, b.cfg.PollRate)
		awaitPolls(ctx, d, p, len(idle), b.cfg.PollEvery+5*time.Second)
	})
	serverQuantiles(r, before, b.readServerSide(ctx))
	r.DecideRedisCPUSeconds = cpu.redis.Seconds()
	r.DecideCPUSeconds, r.DecideDepsSeconds = cpu.server.Seconds(), cpu.deps.Seconds()
	r.DecideCPUPerBrowser = perBrowserMinute(cpu.server, len(all), cpu.wall)
	r.DecideOtherCores = cpu.otherCores
	samples, lost := d.latencies(func(i int) int64 { return p.approvedAt[len(idle)+i].Load() })
	r.Latency, r.Lost = summarize(samples), lost
	r.Errors = int(d.errors.Load() + p.errors.Load())
	if err := d.err(); err != nil {
		r.FirstError = "callback: " + err.Error()
	} else if err := p.err(); err != nil {
		r.FirstError = "poll: " + err.Error()
	}
	if r.FirstError != "" {
		b.say("poll: first error: %s", r.FirstError)
	}
	b.say("poll: p50 %.0f ms, mean %.0f ms, %.0f polls/s, %d lost, %d errors", r.Latency.P50, r.Latency.Mean, r.PollsPerSecond, r.Lost, r.Errors)
	return r, b.alive()
}

// pollConns bounds the poll phase's connections (browsers would each hold
// one; the server's descriptors are the limit).
const pollConns = 8192

// warmUp reads a few approvals in parallel, so the server's database pool
// and Redis connections exist before the memory baseline.
func (b *bench) warmUp(ctx context.Context, users []*user) {
	users = users[:min(len(users), 256)]
	_ = forEach(ctx, len(users), 64, func(ctx context.Context, i int) error {
		_, _ = pollOnce(ctx, b.api, users[i])
		return nil
	})
	sleep(ctx, b.cfg.Settle)
}

type cpuUse struct {
	server, deps, redis, wall time.Duration
	otherCores                float64 // other processes of the machine
}

// measureCPU runs f and returns the CPU time approvald (and PostgreSQL and
// Redis) spent meanwhile.
func (b *bench) measureCPU(f func()) cpuUse {
	o := watchOthers(b.srv.PID())
	s0, _ := cpuTime(b.srv.PID())
	d0, r0 := cpuOfCommands("postgres", "redis-server"), cpuOfCommands("redis-server")
	start := time.Now()
	f()
	wall := time.Since(start)
	s1, _ := cpuTime(b.srv.PID())
	d1, r1 := cpuOfCommands("postgres", "redis-server"), cpuOfCommands("redis-server")
	return cpuUse{server: s1 - s0, deps: max(d1-d0, 0), redis: max(r1-r0, 0), wall: wall, otherCores: o.Cores()}
}

// perBrowserMinute is CPU milliseconds per browser per minute of waiting.
func perBrowserMinute(cpu time.Duration, browsers int, wall time.Duration) float64 {
	if browsers == 0 || wall <= 0 {
		return 0
	}
	return ms(cpu) / float64(browsers) / wall.Minutes()
}

type memSample struct {
	rss, heap, stack, goroutines float64
}

func (b *bench) sampleMemory(ctx context.Context) (memSample, error) {
	r, err := rss(b.srv.PID())
	if err != nil {
		return memSample{}, err
	}
	m, err := b.scrape(ctx, "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines")
	if err != nil {
		return memSample{}, err
	}
	return memSample{rss: float64(r), heap: m[0], stack: m[1], goroutines: m[2]}, nil
}

func memoryPerWebsocket(n int, before, after memSample) *MemoryResult {
	per := func(a, b float64) float64 { return (b - a) / float64(n) / 1024 }
	return &MemoryResult{
		Websockets:        n,
		RSSBeforeMiB:      before.rss / (1 << 20),
		RSSAfterMiB:       after.rss / (1 << 20),
		PerWebsocketKiB:   per(before.rss, after.rss),
		HeapPerWebsocket:  per(before.heap, after.heap),
		StackPerWebsocket: per(before.stack, after.stack),
		GoroutinesPerWS:   (after.goroutines - before.goroutines) / float64(n),
	}
}

// profile starts a CPU profile of seconds into -pprof-dir (when set); the
// returned func waits for it.
func (b *bench) profile(ctx context.Context, name string, seconds int) (wait func()) {
	if b.cfg.PprofDir == "" || seconds < 1 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.saveProfile(ctx, name, "profile", seconds)
	}()
	return func() { <-done }
}

// trace starts an execution trace of d into -pprof-dir/<name>.trace (when
// both are set); the returned func waits for it.
func (b *bench) trace(ctx context.Context, name string, d time.Duration) (wait func()) {
	if b.cfg.PprofDir == "" || d <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.fetch(ctx, fmt.Sprintf("/debug/pprof/trace?seconds=%g", d.Seconds()), name+".trace")
	}()
	return func() { <-done }
}

// saveProfile fetches /debug/pprof/<kind> into -pprof-dir/<name>.pprof.
func (b *bench) saveProfile(ctx context.Context, name, kind string, seconds int) {
	if b.cfg.PprofDir == "" {
		return
	}
	path := "/debug/pprof/" + kind
	if seconds > 0 {
		path += "?seconds=" + strconv.Itoa(seconds)
	}
	b.fetch(ctx, path, name+".pprof")
}

// fetch saves what approvald's metrics listener serves at path into
// -pprof-dir/file.
func (b *bench) fetch(ctx context.Context, path, file string) {
	name := file
	u := b.metricsURL + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.say("profile %s: %v", name, err)
		return
	}
	defer res.Body.Close()
	if err := os.MkdirAll(b.cfg.PprofDir, 0o755); err != nil {
		b.say("profile %s: %v", name, err)
		return
	}
	f, err := os.Create(filepath.Join(b.cfg.PprofDir, file))
	if err != nil {
		b.say("profile %s: %v", name, err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, res.Body)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}
