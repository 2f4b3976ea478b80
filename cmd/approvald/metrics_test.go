package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/approvald/approvald/internal/e2e"
)

const testMetricsToken = "scrape-token-for-tests"

// scrape reads /metrics from base with the test token.
func scrape(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", res.StatusCode, body)
	}
	return string(body)
}

// seriesValue finds one series by its exact name and labels, as the text
// format writes them (labels sorted by name); 0 when it is absent.
func seriesValue(t *testing.T, text, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("series %s has value %q", series, v)
			}
			return f
		}
	}
	return 0
}

// TestMetricsMoveWithALoginAndItsDecision logs in, decides by push, then
// checks that the counters and the latency histogram moved.
func TestMetricsMoveWithALoginAndItsDecision(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b e2e.Backend) {
		s := startServer(t, b, map[string]string{"METRICS_TOKEN": testMetricsToken})
		e2e.Expect(t, s.Get(t, "/metrics"), http.StatusUnauthorized, "unauthorized")
		e2e.Expect(t, s.Get(t, "/metrics", "Authorization", "Bearer wrong"), http.StatusUnauthorized, "unauthorized")
		before := scrape(t, s.URL)

		u, dev := s.UserWithDevice(t, true)
		l := s.StartLogin(t, u)
		ws := s.MustWS(t, l)
		ws.ExpectFrame(t, map[string]any{"type": "status", "status": "pending", "channel": "push"})
		dev.NextPush(t)
		if status, err := dev.Decide(t, l.ID, true, l.Number, false); err != nil || status != "approved" {
			t.Fatalf("decide: %q %v", status, err)
		}
		ws.ExpectFrame(t, map[string]any{"type": "status", "status": "approved"})
		// The server observes the decision's latency after writing the frame
		// and before closing: the close is the event that says it is counted.
		ws.ExpectClose(t, websocket.CloseNormalClosure)

		// The push is counted when the server has read the device's answer,
		// which can come after the device handed the push on: wait for it.
		var after string
		e2e.Eventually(t, "the push being counted", func() bool {
			after = scrape(t, s.URL)
			return seriesValue(t, after, `approvald_pushes_total{result="sent"}`)-seriesValue(t, before, `approvald_pushes_total{result="sent"}`) >= 1
		})
		moved := map[string]float64{
			`approvald_approvals_started_total{channel="push"}`:                                                          1,
			`approvald_approvals_started_total{channel="sms"}`:                                                           1, // the SMS login before enrolling
			`approvald_approvals_decided_total{channel="push",outcome="approved"}`:                                       1,
			`approvald_approvals_decided_total{channel="sms",outcome="approved"}`:                                        1,
			`approvald_decision_to_websocket_seconds_count`:                                                              1,
			`approvald_pushes_total{result="sent"}`:                                                                      1,
			`approvald_http_request_duration_seconds_count{code="202",method="POST",route="/api/v1/login"}`:              2,
			`approvald_http_request_duration_seconds_count{code="200",method="POST",route="/api/v1/callbacks/approval"}`: 1,
		}
		for series, want := range moved {
			if got := seriesValue(t, after, series) - seriesValue(t, before, series); got != want {
				t.Errorf("%s moved by %v, want %v", series, got, want)
			}
		}
		if sent := seriesValue(t, after, `approvald_sms_total{result="sent"}`); sent < 2 {
			t.Errorf("sms_total{sent} = %v; the signup and login codes were texted", sent)
		}
		if sum := seriesValue(t, after, "approvald_decision_to_websocket_seconds_sum"); sum <= 0 || sum > 5 {
			t.Errorf("decision_to_websocket_seconds_sum = %v, want one small positive latency", sum)
		}
		for _, want := range []string{"go_goroutines ", "process_resident_memory_bytes ", "approvald_pubsub_resubscribed_total 0"} {
			if !strings.Contains(after, want) {
				t.Errorf("/metrics has no %q", want)
			}
		}
		if strings.Contains(after, "apr_") || strings.Contains(after, l.Ticket) {
			t.Error("an approval id or ticket leaked into /metrics")
		}
		// The server closed the websocket after the final state; the gauge
		// falls when its handler returns, just after.
		e2e.Eventually(t, "websockets_open back to 0", func() bool {
			return seriesValue(t, scrape(t, s.URL), "approvald_websockets_open") == 0
		})
	})
}

var metricsListening = regexp.MustCompile(`"msg":"metrics listening","addr":"([^"]+)"`)

func TestMetricsEndpointPlacement(t *testing.T) {
	t.Run("neither address nor token: no endpoint", func(t *testing.T) {
		s := startServer(t, e2e.SQLite, nil)
		e2e.Expect(t, s.Get(t, "/metrics"), http.StatusNotFound, "not_found")
	})
	t.Run("METRICS_ADDR: a listener of its own, none on the main port", func(t *testing.T) {
		s := startServer(t, e2e.SQLite, map[string]string{
			"METRICS_ADDR": "127.0.0.1:0", "METRICS_TOKEN": testMetricsToken, "METRICS_PPROF": "true",
		})
		e2e.Expect(t, s.Get(t, "/metrics", "Authorization", "Bearer "+testMetricsToken), http.StatusNotFound, "not_found")
		m := metricsListening.FindStringSubmatch(s.Logs.String())
		if m == nil {
			t.Fatalf("no metrics listener in the logs:\n%s", s.Logs.String())
		}
		if text := scrape(t, "http://"+m[1]); !strings.Contains(text, "approvald_websockets_open 0") {
			t.Fatalf("the metrics listener serves no approvald metrics:\n%s", text)
		}
		res, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the metrics listener without the token = %d, want 401", res.StatusCode)
		}
	})
	t.Run("METRICS_PPROF needs METRICS_ADDR", func(t *testing.T) {
		_, err := loadConfig(func(k string) string { return map[string]string{"METRICS_PPROF": "true"}[k] })
		if err == nil || !strings.Contains(err.Error(), "METRICS_PPROF") {
			t.Fatalf("loadConfig = %v, want a METRICS_PPROF error", err)
		}
	})
}
