package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/approvald/approvald/internal/authenticator"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/e2e"
	"github.com/approvald/approvald/internal/password"
	"github.com/approvald/approvald/internal/store"
)

// user is a verified account with one enrolled device (pull mode: the
// bench reads approval ids and match numbers from the login answers, so no
// push traffic is involved), and its current pending login.
type user struct {
	Phone, Password string
	Device          *authenticator.Client

	ApprovalID, Ticket string
	Match              int
}

const benchPassword = "bench correct horse battery staple"

// phones returns n distinct valid US numbers (+1 201 …) from a random
// start, so runs on a shared Redis do not meet each other's per-phone SMS
// counters.
func phones(n int) []string {
	const lo, span = 2_000_000, 7_000_000
	off, _ := rand.Int(rand.Reader, big.NewInt(int64(span-n)))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1201%07d", lo+off.Int64()+int64(i))
	}
	return out
}

// forEach runs f(i) for i in [0, n) on workers goroutines and returns the
// first error (after which the others stop taking work).
func forEach(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// seedAPI makes each user the way a person would: signup, the code from the
// SMS inbox, verify, an SMS login for a session with a second factor, an
// enrollment code, and the device's registration (internal/authenticator).
// Two Argon2id hashes per user make it slow (BENCHMARKS.md has the rate).
func seedAPI(ctx context.Context, a *api, in *e2e.Inbox, httpc *http.Client, n, workers int) ([]*user, error) {
	nums := phones(n)
	users := make([]*user, n)
	err := forEach(ctx, n, workers, func(ctx context.Context, i int) error {
		u := &user{Phone: nums[i], Password: benchPassword}
		var signup struct {
			VerificationID string `json:"verification_id"`
		}
		if err := a.call(ctx, "POST", "/api/v1/signup", nil,
			map[string]string{"name": "Bench", "phone": u.Phone, "password": u.Password}, http.StatusCreated, &signup); err != nil {
			return err
		}
		code, err := textedCode(ctx, in, u.Phone)
		if err != nil {
			return err
		}
		if err := a.call(ctx, "POST", "/api/v1/signup/verify", nil,
			map[string]string{"verification_id": signup.VerificationID, "code": code}, http.StatusOK, nil); err != nil {
			return err
		}
		var login loginAnswer
		if err := a.call(ctx, "POST", "/api/v1/login", nil, loginBody(u), http.StatusAccepted, &login); err != nil {
			return err
		}
		if code, err = textedCode(ctx, in, u.Phone); err != nil {
			return err
		}
		if err := a.call(ctx, "POST", "/api/v1/approvals/"+login.ApprovalID+"/verify", ticketHeader(login.Ticket),
			map[string]string{"code": code}, http.StatusOK, nil); err != nil {
			return err
		}
		var tokens struct {
			AccessToken string `json:"access_token"`
		}
		if err := a.call(ctx, "POST", "/api/v1/approvals/"+login.ApprovalID+"/session", ticketHeader(login.Ticket),
			nil, http.StatusOK, &tokens); err != nil {
			return err
		}
		var enrollment struct {
			EnrollmentCode string `json:"enrollment_code"`
		}
		if err := a.call(ctx, "POST", "/api/v1/devices/enrollments", bearer(tokens.AccessToken), nil, http.StatusCreated, &enrollment); err != nil {
			return err
		}
		st, err := authenticator.Enroll(ctx, a.base, enrollment.EnrollmentCode, "bench", "")
		if err != nil {
			return fmt.Errorf("enrolling a device: %w", err)
		}
		u.Device = &authenticator.Client{State: st, HTTP: httpc}
		users[i] = u
		return nil
	})
	return users, err
}

// textedCode waits (up to 15 s) for the next code texted to phone.
func textedCode(ctx context.Context, in *e2e.Inbox, phone string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return in.WaitCode(ctx, phone)
}

// writeVerifiedUser writes a user whose phone is verified, as signup and
// its verification would leave it, with hash as its password.
func writeVerifiedUser(ctx context.Context, db *store.DB, name, phone, hash string, twoFactor bool, now time.Time) (*core.User, error) {
	u := &core.User{ID: core.NewID(core.PrefixUser), Name: name, Phone: phone, PasswordHash: hash,
		TwoFactor: twoFactor, CreatedAt: now, UpdatedAt: now}
	v := &core.Verification{ID: core.NewID(core.PrefixVerification), UserID: u.ID, Phone: u.Phone, CodeHash: "-",
		Status: core.VerificationPending, ExpiresAt: now.Add(time.Hour), LastSentAt: now, CreatedAt: now}
	if err := db.CreateSignup(ctx, u, v); err != nil {
		return nil, err
	}
	if _, err := db.CompleteVerification(ctx, v.ID, now); err != nil {
		return nil, err
	}
	return u, nil
}

// seedDB is the bench-only fast path: it writes verified users and their
// devices straight into approvald's database through internal/store (the
// same code the server uses), with one Argon2id hash shared by every user.
// What it skips is signup and enrollment, which the bench does not
// measure; logins, tickets and callbacks still go through the API. A
// device made here has no usable TOTP secret (its sealed secret is random
// bytes), which no phase needs.
func seedDB(ctx context.Context, databaseURL, serverURL string, httpc *http.Client, n, workers int) ([]*user, error) {
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	hash, err := password.New(password.Params{}, 1).Hash(ctx, benchPassword)
	if err != nil {
		return nil, err
	}
	nums := phones(n)
	users := make([]*user, n)
	err = forEach(ctx, n, workers, func(ctx context.Context, i int) error {
		now := time.Now().UTC()
		u, err := writeVerifiedUser(ctx, db, "Bench", nums[i], hash, true, now)
		if err != nil {
			return err
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		d := &core.Device{ID: core.NewID(core.PrefixDevice), UserID: u.ID, Name: "bench", PublicKey: pub,
			TOTPSecretEnc: core.RandomBytes(48), CreatedAt: now}
		if err := db.CreateDevice(ctx, d); err != nil {
			return err
		}
		st := &authenticator.State{Server: serverURL, DeviceID: d.ID, PrivateKey: priv}
		users[i] = &user{Phone: u.Phone, Password: benchPassword, Device: &authenticator.Client{State: st, HTTP: httpc}}
		return nil
	})
	return users, err
}

type loginAnswer struct {
	ApprovalID  string `json:"approval_id"`
	Ticket      string `json:"ticket"`
	Channel     string `json:"channel"`
	MatchNumber int    `json:"match_number"`
}

func loginBody(u *user) map[string]string {
	return map[string]string{"phone": u.Phone, "password": u.Password}
}
