package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/approvald/approvald/internal/password"
)

// LoginResult compares password logins with the machine's raw hash rate.
type LoginResult struct {
	Logins         int     `json:"logins"`
	Seconds        float64 `json:"seconds"`
	PerSecond      float64 `json:"per_second"`
	ArgonPerSecond float64 `json:"argon2id_per_second"` // raw, GOMAXPROCS hashes at a time, same parameters: the mean of
	ArgonBefore    float64 `json:"argon2id_before"`     // before approvald starts and
	ArgonAfter     float64 `json:"argon2id_after"`      // after the logins
	Ratio          float64 `json:"ratio"`               // PerSecond / ArgonPerSecond
	// Cores used by other processes on the machine meanwhile.
	OtherCoresArgon float64 `json:"other_cores_argon"`
	OtherCoresLogin float64 `json:"other_cores_login"`
	// Cores used during the logins by approvald, by PostgreSQL and Redis,
	// and by the harness itself: where the CPU that is not Argon2id went.
	ServerCores  float64 `json:"server_cores"`
	DepsCores    float64 `json:"deps_cores"`
	HarnessCores float64 `json:"harness_cores"`
}

// newLoginResult holds n logins in took against the mean of the raw rates
// measured before and after them (0 when the login phase was not run).
func newLoginResult(n int, took time.Duration, argonBefore, argonAfter float64) *LoginResult {
	r := &LoginResult{Logins: n, Seconds: took.Seconds(), PerSecond: float64(n) / took.Seconds(),
		ArgonPerSecond: (argonBefore + argonAfter) / 2, ArgonBefore: argonBefore, ArgonAfter: argonAfter}
	if r.ArgonPerSecond > 0 {
		r.Ratio = r.PerSecond / r.ArgonPerSecond
	}
	return r
}

// argonRate hashes with approvald's parameters on every core for d and
// returns hashes per second: what the machine can do at best.
func argonRate(ctx context.Context, d time.Duration) (float64, error) {
	workers := runtime.GOMAXPROCS(0)
	h := password.New(password.Params{}, workers)
	var done atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := h.Hash(context.Background(), benchPassword); err != nil {
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if done.Load() == 0 {
		return 0, errors.New("no Argon2id hash completed")
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// loginAll logs every user in with the password; each login starts a push
// approval, whose id, ticket and number the user keeps. A login that
// fails for a transient reason (transport, 5xx) is tried again, at most
// three times; a login that answers anything but a push approval ends the
// run.
func loginAll(ctx context.Context, a *api, users []*user, workers int) (time.Duration, error) {
	start := time.Now()
	err := forEach(ctx, len(users), workers, func(ctx context.Context, i int) error {
		u := users[i]
		var l loginAnswer
		var err error
		for range 3 {
			if err = a.call(ctx, "POST", "/api/v1/login", nil, loginBody(u), http.StatusAccepted, &l); err == nil || !transient(err) {
				break
			}
		}
		if err != nil {
			return err
		}
		if l.Channel != "push" {
			return fmt.Errorf("login of %s started on %q, want push", u.Phone, l.Channel)
		}
		u.ApprovalID, u.Ticket, u.Match = l.ApprovalID, l.Ticket, l.MatchNumber
		return nil
	})
	return time.Since(start), err
}

func transient(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
