// Command approvalbench measures approvald on one machine, every figure in
// one run: it starts approvald itself (from a built binary) on PostgreSQL and
// Redis, prepares users with enrolled devices, logs them all in, and then
//
//   - floor: times bare Redis PUBLISH → SUBSCRIBE round trips on the same Redis;
//   - login: compares password logins/s with the raw Argon2id hash rate;
//   - oidc: runs complete OpenID Connect code flows (authorize → login →
//     callback → token) on one single sign-on cookie and compares flows/s
//     with the raw RS256 signing rate;
//   - passkey: gives users passkeys of a software authenticator through the
//     API, runs complete passkey logins (options → assertion → token pair)
//     and compares logins/s with the raw ECDSA P-256 verification rate;
//   - webpush: sends encrypted Web Push messages (RFC 8291, VAPID) with
//     internal/webpush in the harness to a counting receiver and compares
//     pushes/s with the raw ECDH P-256 rate (a microbenchmark: approvald's
//     logins would be bounded by Argon2id first); then, through approvald,
//     times logins of users whose device has a Web Push subscription at
//     the harness and holds the device websocket: the device's approval
//     frame and the Web Push against the browser's websocket first frame;
//   - memory: reads the server's RSS before and after opening the websockets;
//   - ws: keeps N browsers waiting on websockets and sends signed approve
//     callbacks at a fixed rate, timing callback sent → websocket frame;
//   - poll: the same browsers polling GET /api/v1/approvals/{id} every 2 s.
//
// It prints one Markdown table and writes the figures as JSON. Targets are
// loopback only; the run stops by itself within -timeout. BENCHMARKS.md has
// the method and the commands.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "approvalbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stderr)
	if res != nil {
		fmt.Print(res.Markdown())
		if cfg.JSONPath != "" {
			if werr := writeJSON(cfg.JSONPath, res); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "approvalbench:", err)
		os.Exit(1)
	}
}

func writeJSON(path string, res *Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
