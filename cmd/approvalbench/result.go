package main

import (
	"time"
)

// Result is everything one run measured; it is also the JSON output, so
// two runs can be compared field by field.
type Result struct {
	StartedAt time.Time      `json:"started_at"`
	Seconds   float64        `json:"seconds"`
	Machine   Machine        `json:"machine"`
	Config    ResultConfig   `json:"config"`
	Floor     *Latency       `json:"floor,omitempty"`
	Login     *LoginResult   `json:"login,omitempty"`
	OIDC      *OIDCResult    `json:"oidc,omitempty"`
	Passkey   *PasskeyResult `json:"passkey,omitempty"`
	WebPush   *WebPushResult `json:"webpush,omitempty"`
	Memory    *MemoryResult  `json:"memory,omitempty"`
	WS        *PhaseResult   `json:"ws,omitempty"`
	Poll      *PhaseResult   `json:"poll,omitempty"`
	Targets   []Target       `json:"targets"`
}

// ResultConfig is the part of the configuration that shapes the figures.
type ResultConfig struct {
	Waiting          int     `json:"waiting"`
	Rate             float64 `json:"rate"`
	PollRate         float64 `json:"poll_rate"`
	DurationSeconds  float64 `json:"duration_seconds"`
	IdleSeconds      float64 `json:"idle_seconds"`
	PollEverySeconds float64 `json:"poll_every_seconds"`
	Seed             string  `json:"seed"`
	FileLimit        uint64  `json:"file_limit"`
	SourceAddresses  int     `json:"source_addresses"`
	// Postgres is what a commit waits for on the bench database.
	Postgres *PostgresSettings `json:"postgres,omitempty"`
}

// MemoryResult is the server's memory for its open websockets.
type MemoryResult struct {
	Websockets        int     `json:"websockets"`
	RSSBeforeMiB      float64 `json:"rss_before_mib"`
	RSSAfterMiB       float64 `json:"rss_after_mib"`
	PerWebsocketKiB   float64 `json:"rss_per_websocket_kib"`
	HeapPerWebsocket  float64 `json:"heap_per_websocket_kib"`  // Go heap in use, delta / websockets
	StackPerWebsocket float64 `json:"stack_per_websocket_kib"` // goroutine stacks, delta / websockets
	GoroutinesPerWS   float64 `json:"goroutines_per_websocket"`
}

// PhaseResult is one design's figures (ws or poll).
type PhaseResult struct {
	Waiting int     `json:"waiting"` // browsers that waited throughout
	Decided int     `json:"decided"` // browsers whose approval was decided in the window, on top
	Rate    float64 `json:"rate"`
	Latency Latency `json:"latency"` // callback sent → the browser heard
	Errors  int     `json:"errors"`
	Lost    int     `json:"lost"` // approved, never heard

	// CPU of waiting alone (idle window, every browser waiting), and of the
	// decision window; per waiting browser per minute, in CPU milliseconds.
	IdleCPUSeconds      float64 `json:"idle_cpu_seconds"`
	IdleDepsCPUSeconds  float64 `json:"idle_deps_cpu_seconds"` // PostgreSQL + Redis processes
	IdleCPUPerBrowser   float64 `json:"idle_cpu_ms_per_browser_minute"`
	IdleTotalPerBrowser float64 `json:"idle_cpu_ms_per_browser_minute_with_deps"`
	DecideCPUSeconds    float64 `json:"decide_cpu_seconds"`
	DecideDepsSeconds   float64 `json:"decide_deps_cpu_seconds"`
	DecideCPUPerBrowser float64 `json:"decide_cpu_ms_per_browser_minute"`
	PollsPerSecond      float64 `json:"polls_per_second,omitempty"`
	// Cores used by other processes on the machine in each window.
	IdleOtherCores   float64 `json:"idle_other_cores"`
	DecideOtherCores float64 `json:"decide_other_cores"`
	// Redis alone, of the deps figures.
	IdleRedisCPUSeconds   float64 `json:"idle_redis_cpu_seconds"`
	DecideRedisCPUSeconds float64 `json:"decide_redis_cpu_seconds"`

	// approvald's own histograms for the decision window (bucket upper
	// bounds, ms): publish → websocket write, and the callback's handling.
	ServerDecisionP50 float64 `json:"server_decision_to_websocket_p50_ms_at_most"`
	ServerDecisionP99 float64 `json:"server_decision_to_websocket_p99_ms_at_most"`
	ServerCallbackP50 float64 `json:"server_callback_p50_ms_at_most"`
	ServerCallbackP99 float64 `json:"server_callback_p99_ms_at_most"`
	// What could queue a decision inside approvald in the window: the
	// collector's stop-the-world pauses and the scheduler's latency
	// (runtime/metrics; bucket upper bounds, ms), and the waits for a
	// pooled database or Redis connection.
	Queues *ServerQueues `json:"server_queues,omitempty"`
	// WAL is PostgreSQL's WAL flushes in the decision window (pg_stat_wal,
	// the whole cluster): the commit's wait for the disk.
	WAL        string `json:"wal_flushes,omitempty"`
	FirstError string `json:"first_error,omitempty"`
}

// ServerQueues is what approvald's runtime and pools say of a window.
type ServerQueues struct {
	GCPauses          int     `json:"gc_pauses"`
	GCPauseP99        float64 `json:"gc_pause_p99_ms_at_most"`
	GCPauseMax        float64 `json:"gc_pause_max_ms_at_most"`
	SchedLatencyP50   float64 `json:"sched_latency_p50_ms_at_most"`
	SchedLatencyP99   float64 `json:"sched_latency_p99_ms_at_most"`
	SchedLatencyMax   float64 `json:"sched_latency_max_ms_at_most"`
	DBWaits           int     `json:"db_pool_waits"`
	DBWaitMs          float64 `json:"db_pool_wait_ms"`
	RedisWaits        int     `json:"redis_pool_waits"`
	RedisWaitMs       float64 `json:"redis_pool_wait_ms"`
	RedisPoolTimeouts int     `json:"redis_pool_timeouts"`
}

// Target is one of the figures to beat (BENCHMARKS.md).
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Holds    bool   `json:"holds"`
	// Applies is false when the run was smaller than the target's setting
	// (a reduced run), so Holds says nothing.
	Applies bool `json:"applies"`
}
