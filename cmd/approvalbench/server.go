package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/approvald/approvald/internal/core"
)

// serverEnv is the environment the bench runs approvald with (internal/e2e
// adds the SMS webhook of its inbox, PATH and HOME). Besides the wiring, it
// moves what a real deployment keeps: per-IP limits and the SMS budget off
// (every bench client is on loopback), no cap on websockets (-waiting may
// pass MAX_WEBSOCKETS), approvals that outlive the run (the contract's
// 120 s push life and 30 s push_timeout would end waits the bench wants to
// keep open), and logs at warn (no line per request). extra ("NAME=value",
// -server-env) comes last and wins.
func serverEnv(addr, databaseURL, redisURL, metricsAddr string, extra []string) map[string]string {
	env := map[string]string{
		"ADDR":                          addr,
		"DATABASE_URL":                  databaseURL,
		"REDIS_URL":                     redisURL,
		"SECRET_KEY":                    base64.StdEncoding.EncodeToString(core.RandomBytes(32)),
		"METRICS_ADDR":                  metricsAddr,
		"METRICS_PPROF":                 "true",
		"LOG_LEVEL":                     "warn",
		"APPROVAL_TTL":                  "1h",
		"PUSH_TIMEOUT":                  "1h",
		"LIMIT_SIGNUPS_PER_IP_PER_HOUR": "100000000",
		"LIMIT_LOGIN_FAILURES_PER_IP":   "100000000",
		"LIMIT_ENROLL_FAILURES_PER_IP":  "100000000",
		"LIMIT_RESENDS_PER_IP_PER_HOUR": "100000000",
		// The passkey phase's logins all come from loopback too.
		"LIMIT_PASSKEY_FAILURES_PER_IP":          "100000000",
		"LIMIT_PASSKEY_LOGINS_PER_IP_PER_MINUTE": "100000000",
		// Seeding texts two codes per user, far past a real budget.
		"SMS_BUDGET_PER_HOUR":          "100000000",
		"LIMIT_WEBSOCKETS_PER_IP":      "100000000",
		"MAX_WEBSOCKETS":               "100000000",
		"LIMIT_SMS_PER_PHONE_PER_HOUR": "1000",
		"LIMIT_SMS_PER_PHONE_PER_DAY":  "1000",
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var errServerGone = errors.New("approvald exited during the run")

// alive reports errServerGone once approvald has ended.
func (b *bench) alive() error {
	select {
	case <-b.srv.Done():
		return fmt.Errorf("%w (%v)\n%s", errServerGone, b.srv.Err(), b.srv.Logs.String())
	default:
		return nil
	}
}
