package metrics

import (
	"net/http"
	"net/http/pprof"
	"time"
)

// ListenerConfig describes the dedicated metrics listener (METRICS_ADDR).
type ListenerConfig struct {
	// Token, when set, is required as a bearer token here too.
	Token string
	// Pprof adds net/http/pprof under /debug/pprof/ (METRICS_PPROF=true):
	// profiles cost CPU while they run, so only on a private address.
	Pprof bool
}

// Server is the HTTP server of the dedicated listener: /metrics, and
// /debug/pprof/ when asked for. Run it with Serve(listener).
func (m *Metrics) Server(cfg ListenerConfig) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	var h http.Handler = mux
	if cfg.Token != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !Authorized(r.Header.Get("Authorization"), cfg.Token) {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		// A CPU profile or trace streams for as long as it was asked to.
		WriteTimeout: 10 * time.Minute,
	}
}
