// Package metrics is approvald's Prometheus registry and the instruments
// the rest of the program reports to. Every method works on a nil *Metrics
// and then records nothing, so each seam is optional: tests and tools that
// build services without metrics pass nil.
package metrics

import (
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/texts"
)

// Namespace prefixes every approvald metric.
const Namespace = "approvald"

// Outcomes of a decided approval (the label "outcome").
const (
	OutcomeApproved = "approved"
	OutcomeDenied   = "denied"
	OutcomeExpired  = "expired"
)

// latencyBuckets span 50 µs to 10 s: a healthy decision reaches its
// websocket in well under a millisecond, a sick one in seconds.
var latencyBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// Metrics holds one registry and approvald's instruments on it.
type Metrics struct {
	reg *prometheus.Registry

	approvalsStarted *prometheus.CounterVec
	approvalsDecided *prometheus.CounterVec
	decisionToWS     prometheus.Histogram
	websocketsOpen   prometheus.Gauge
	pushes           *prometheus.CounterVec
	sms              *prometheus.CounterVec
	smsCodes         *prometheus.CounterVec
	httpDuration     *prometheus.HistogramVec
}

// New builds the registry with the Go runtime and process collectors and
// every approvald instrument.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		approvalsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "approvals_started_total",
			Help: "Approvals started by a password login, by the channel they started on.",
		}, []string{"channel"}),
		approvalsDecided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "approvals_decided_total",
			Help: "Approvals that left pending (approved, denied or expired), by their channel at that moment.",
		}, []string{"channel", "outcome"}),
		decisionToWS: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "decision_to_websocket_seconds",
			Help: "From the publish of a final state (after its commit) to its write on a waiting websocket: " +
				"handed over directly on the deciding instance, through the broker on the others (their clock difference included).",
			Buckets: latencyBuckets,
		}),
		websocketsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "websockets_open",
			Help: "Approval websockets open on this instance.",
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "pushes_total",
			Help: "Signed pushes to authenticator devices (to a push_url or by Web Push), by result (sent or failed, after retries).",
		}, []string{"result"}),
		sms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sms_total",
			Help: "Text messages handed to the SMS provider, by result (sent or failed).",
		}, []string{"result"}),
		smsCodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sms_codes_total",
			Help: "Code messages asked for, by kind (signup, signup_resend, login, login_requested) and result: " +
				"sent, failed (the provider did not take it), limited (per phone or per client), " +
				"budget_exhausted (SMS_BUDGET_PER_HOUR, service-wide) or refused_number (not a number approvald texts).",
		}, []string{"kind", "result"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP request duration by method, route pattern and status code; a websocket counts until its upgrade.",
			Buckets: latencyBuckets,
		}, []string{"method", "route", "code"}),
	}
	m.reg.MustRegister(
		// The scheduler's latencies and the collector's stop-the-world
		// pauses as histograms: what a latency tail is first checked
		// against (issue 15).
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{
			Matcher: regexp.MustCompile(`^/sched/(latencies|pauses/total/gc):seconds$`),
		})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.approvalsStarted, m.approvalsDecided, m.decisionToWS, m.websocketsOpen,
		m.pushes, m.sms, m.smsCodes, m.httpDuration,
	)
	// Both results exist from the start, so a rate over them is defined
	// before the first failure.
	for _, result := range []string{"sent", "failed"} {
		m.pushes.WithLabelValues(result)
		m.sms.WithLabelValues(result)
	}
	// So is every kind and result of a code message: an alert on
	// budget_exhausted works before the budget is first spent.
	for _, kind := range core.SMSKinds {
		for _, result := range texts.SMSResults {
			m.smsCodes.WithLabelValues(kind, result)
		}
	}
	return m
}

// SMSCode counts one code message of kind by its result (texts.Texter's
// Count).
func (m *Metrics) SMSCode(kind, result string) {
	if m != nil {
		m.smsCodes.WithLabelValues(kind, result).Inc()
	}
}

// Registry is where further collectors go (and what tests gather).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// WatchHub exports what the hub counts by itself, read at scrape time:
// channels re-subscribed after the broker connection was lost and restored,
// and channels with local waiters.
func (m *Metrics) WatchHub(resubscribed func() uint64, channels func() int) {
	if m == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Name: "pubsub_resubscribed_total",
			Help: "Broker channels subscribed again after the pub/sub connection was lost (one per channel per reconnect).",
		}, func() float64 { return float64(resubscribed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "pubsub_channels",
			Help: "Broker channels this instance subscribes to (approvals with a waiting websocket here).",
		}, func() float64 { return float64(channels()) }),
	)
}

// PoolStats is what a connection pool counts of its waits, read at scrape
// time.
type PoolStats struct {
	InUse, Open  int
	Waits        uint64        // times a caller found no free connection and waited
	WaitDuration time.Duration // the time they waited, in all
	Timeouts     uint64        // waits that gave up (go-redis only)
}

// WatchPools exports the database's and Redis's pool waits: a pool too
// small for the load queues requests before they reach either server.
// Either func may be nil (SQLite, no Redis).
func (m *Metrics) WatchPools(db, redis func() PoolStats) {
	if m == nil {
		return
	}
	for name, read := range map[string]func() PoolStats{"database": db, "redis": redis} {
		if read == nil {
			continue
		}
		labels := prometheus.Labels{"pool": name}
		m.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Namespace: Namespace, Name: "pool_waits_total", ConstLabels: labels,
				Help: "Times a caller found no free pooled connection and waited for one.",
			}, func() float64 { return float64(read().Waits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Namespace: Namespace, Name: "pool_wait_seconds_total", ConstLabels: labels,
				Help: "Time callers waited for a pooled connection, in all.",
			}, func() float64 { return read().WaitDuration.Seconds() }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Namespace: Namespace, Name: "pool_timeouts_total", ConstLabels: labels,
				Help: "Waits for a pooled connection that gave up.",
			}, func() float64 { return float64(read().Timeouts) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: Namespace, Name: "pool_connections_in_use", ConstLabels: labels,
				Help: "Pooled connections in use now.",
			}, func() float64 { return float64(read().InUse) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: Namespace, Name: "pool_connections_open", ConstLabels: labels,
				Help: "Pooled connections open now.",
			}, func() float64 { return float64(read().Open) }),
		)
	}
}

// WebsocketOpened and WebsocketClosed bracket one approval websocket.
func (m *Metrics) WebsocketOpened() {
	if m != nil {
		m.websocketsOpen.Inc()
	}
}

func (m *Metrics) WebsocketClosed() {
	if m != nil {
		m.websocketsOpen.Dec()
	}
}

// DecisionWritten records that a final state published at publishedAt was
// just written to a websocket. A zero time (a message without one) is
// skipped.
func (m *Metrics) DecisionWritten(publishedAt time.Time) {
	if m == nil || publishedAt.IsZero() {
		return
	}
	m.decisionToWS.Observe(max(time.Since(publishedAt).Seconds(), 0))
}

func (m *Metrics) approvalStarted(channel string) {
	m.approvalsStarted.WithLabelValues(channel).Inc()
}

func (m *Metrics) approvalsDecidedAdd(channel, outcome string, n int) {
	if n > 0 {
		m.approvalsDecided.WithLabelValues(channel, outcome).Add(float64(n))
	}
}

func result(err error) string {
	if err != nil {
		return "failed"
	}
	return "sent"
}
