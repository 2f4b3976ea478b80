package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// config is one run's parameters (flags).
type config struct {
	Approvald   string // the approvald binary the bench starts
	DatabaseURL string // a PostgreSQL server; the bench creates (and drops) a database of its own there
	RedisURL    string

	Waiting   int           // N: browsers waiting all along
	Rate      float64       // approvals/s in the ws phase
	Duration  time.Duration // each phase's decision window
	Idle      time.Duration // each phase's idle window (CPU of waiting alone)
	PollRate  float64       // approvals/s in the poll phase
	PollEvery time.Duration // the classic poll interval
	Floor     time.Duration // how long the Redis floor is sampled (at Rate)
	Argon     time.Duration // how long the raw Argon2id rate is sampled
	Settle    time.Duration // pause before each memory reading
	// MemoryWebsockets is how many websockets the memory phase holds open
	// at once: the ws phase's N + K, and as many more as it takes, whose
	// approvals are written into the database (holdApprovals).
	MemoryWebsockets int

	OIDC        time.Duration // how long the oidc phase runs its flows (the raw RS256 rate is sampled as long, half before and half after)
	OIDCWorkers int           // concurrent authorization code flows
	OIDCScope   string        // the scope each flow asks for

	Passkey        time.Duration // how long the passkey phase runs its logins (the raw P-256 verification rate is sampled as long, half before and half after)
	PasskeyWorkers int           // concurrent passkey logins, a user and a passkey each

	WebPush        time.Duration // how long the webpush phase sends (the raw ECDH P-256 rate is sampled as long, half before and half after)
	WebPushWorkers int           // encrypted sends in flight at once
	WebPushDevices int           // users of the latency part (device websocket + Web Push + browser), 0: none

	ServerEnv   []string // extra NAME=value for approvald (GOGC, GODEBUG, … for experiments)
	Seed        string   // "db" (bench-only fast path) or "api"
	Concurrency int      // requests in flight while seeding and logging in
	Modes       []string
	JSONPath    string
	PprofDir    string
	Durable     bool          // synchronous_commit on for the bench database, and fsync on required
	Trace       time.Duration // the server's execution trace of the ws decision window, this long, into PprofDir
	ServerLog   string        // approvald's stderr is appended here too
	Timeout     time.Duration
}

var allModes = []string{"floor", "login", "oidc", "passkey", "webpush", "memory", "ws", "poll"}

func (c *config) has(mode string) bool { return slices.Contains(c.Modes, mode) }

// decided is how many approvals a phase decides: rate × duration.
func decided(rate float64, d time.Duration) int { return int(rate * d.Seconds()) }

func parseFlags(args []string, getenv func(string) string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("approvalbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Approvald, "approvald", "bin/approvald", "the approvald `binary` to start (make build)")
	fs.StringVar(&c.DatabaseURL, "database-url", firstOf(getenv("BENCH_DATABASE_URL"), getenv("TEST_DATABASE_URL")),
		"PostgreSQL server `URL` (default $BENCH_DATABASE_URL, else $TEST_DATABASE_URL); a fresh database is created on it")
	fs.StringVar(&c.RedisURL, "redis-url", firstOf(getenv("BENCH_REDIS_URL"), getenv("TEST_REDIS_URL")),
		"Redis `URL` (default $BENCH_REDIS_URL, else $TEST_REDIS_URL)")
	fs.IntVar(&c.Waiting, "waiting", 10000, "browsers waiting throughout each phase (N)")
	fs.Float64Var(&c.Rate, "rate", 500, "approvals per second in the ws phase")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "decision window of each phase")
	fs.DurationVar(&c.Idle, "idle", 10*time.Second, "idle window of each phase, for the CPU of waiting alone")
	pollRate := fs.Float64("poll-rate", 0, "approvals per second in the poll phase (default: -rate)")
	fs.DurationVar(&c.PollEvery, "poll-every", 2*time.Second, "poll interval of the poll phase")
	fs.DurationVar(&c.Floor, "floor", 5*time.Second, "how long to sample the Redis floor (at -rate)")
	fs.DurationVar(&c.Argon, "argon", 3*time.Second, "how long to sample the raw Argon2id hash rate")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second, "pause before each reading of the server's memory")
	fs.IntVar(&c.MemoryWebsockets, "memory-websockets", 50000, "websockets the memory phase holds open at once: the ws phase's -waiting + -rate × -duration, and more that only wait (their approvals written into the database) up to this many")
	fs.DurationVar(&c.OIDC, "oidc", 10*time.Second, "how long the oidc phase runs its code flows (and samples the raw RS256 rate: half before, half after)")
	fs.IntVar(&c.OIDCWorkers, "oidc-workers", 8, "code flows in flight at once in the oidc phase")
	fs.StringVar(&c.OIDCScope, "oidc-scope", "openid profile email", "the scope each code flow of the oidc phase asks for (add offline_access for a refresh token)")
	fs.DurationVar(&c.Passkey, "passkey", 10*time.Second, "how long the passkey phase runs its logins (and samples the raw ECDSA P-256 verification rate: half before, half after)")
	fs.IntVar(&c.PasskeyWorkers, "passkey-workers", 8, "passkey logins in flight at once in the passkey phase (a user with a passkey each)")
	fs.DurationVar(&c.WebPush, "webpush", 5*time.Second, "how long the webpush phase sends encrypted Web Push messages with internal/webpush in the harness (and samples the raw ECDH P-256 rate: half before, half after)")
	fs.IntVar(&c.WebPushWorkers, "webpush-workers", 8, "encrypted sends in flight at once in the webpush phase")
	fs.IntVar(&c.WebPushDevices, "webpush-devices", 40, "users of the webpush phase's latency part, each logging in once: login → device websocket frame, Web Push arrival and browser websocket frame (0: skip it)")
	fs.Func("server-env", "extra `NAME=value` in approvald's environment (repeatable), e.g. GOGC=50", func(v string) error {
		if !strings.Contains(v, "=") {
			return errors.New("want NAME=value")
		}
		c.ServerEnv = append(c.ServerEnv, v)
		return nil
	})
	fs.StringVar(&c.Seed, "seed", "db", `how users and devices are made: "db" (bench-only fast path through internal/store) or "api"`)
	fs.IntVar(&c.Concurrency, "concurrency", 8, "requests in flight while seeding and logging in")
	modes := fs.String("modes", strings.Join(allModes, ","), "comma-separated phases to run")
	fs.StringVar(&c.JSONPath, "json", "", "write the figures as JSON to this `file`")
	fs.StringVar(&c.ServerLog, "server-log", "", "append approvald's log (stderr) to this `file`")
	fs.StringVar(&c.PprofDir, "pprof-dir", "", "save server CPU and heap profiles of each phase in this `directory`")
	fs.BoolVar(&c.Durable, "durable", false, "commit as a deployment does: synchronous_commit=on for the bench's database, and refuse a PostgreSQL that runs fsync=off")
	fs.DurationVar(&c.Trace, "trace", 0, "with -pprof-dir, save approvald's execution trace (go tool trace) of the first `duration` of the ws decision window as ws-decide.trace")
	fs.DurationVar(&c.Timeout, "timeout", 15*time.Minute, "stop the whole run after this long")
	if err := fs.Parse(args); err != nil {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		return nil, fmt.Errorf("%w\n\nusage: approvalbench [flags]\n%s", err, b.String())
	}
	c.PollRate = *pollRate
	if c.PollRate == 0 {
		c.PollRate = c.Rate
	}
	for _, m := range strings.Split(*modes, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if !slices.Contains(allModes, m) {
			return nil, fmt.Errorf("-modes: unknown phase %q (have %s)", m, strings.Join(allModes, ","))
		}
		c.Modes = append(c.Modes, m)
	}
	return c, c.check()
}

func (c *config) check() error {
	switch {
	case c.DatabaseURL == "":
		return errors.New("-database-url (or TEST_DATABASE_URL) is required: a PostgreSQL server")
	case c.RedisURL == "":
		return errors.New("-redis-url (or TEST_REDIS_URL) is required")
	case c.Waiting < 1 || c.Rate <= 0 || c.PollRate <= 0 || c.Duration <= 0 || c.Idle <= 0 || c.PollEvery <= 0:
		return errors.New("-waiting, -rate, -poll-rate, -duration, -idle and -poll-every must be positive")
	case c.Seed != "db" && c.Seed != "api":
		return errors.New(`-seed must be "db" or "api"`)
	case c.MemoryWebsockets < 0:
		return errors.New("-memory-websockets must not be negative")
	case c.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.has("oidc") && (c.OIDC <= 0 || c.OIDCWorkers < 1):
		return errors.New("-oidc must be positive and -oidc-workers at least 1")
	case c.has("passkey") && (c.Passkey <= 0 || c.PasskeyWorkers < 1):
		return errors.New("-passkey must be positive and -passkey-workers at least 1")
	case c.has("webpush") && (c.WebPush <= 0 || c.WebPushWorkers < 1):
		return errors.New("-webpush must be positive and -webpush-workers at least 1")
	case c.Timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	for name, raw := range map[string]string{"-database-url": c.DatabaseURL, "-redis-url": c.RedisURL} {
		if err := mustBeLoopback(raw); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// mustBeLoopback refuses a URL whose host is not a loopback address: the
// bench is a load generator and only ever points at this machine.
func mustBeLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return errors.New("not a URL with a host")
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("host %q does not resolve", u.Hostname())
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("host %q is not loopback: the bench only loads this machine", u.Hostname())
		}
	}
	return nil
}
