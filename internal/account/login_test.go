package account_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/phone"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// gateHasher is plainHasher that counts each verification (Dummy
// included) and, while gate is open, holds it until gate is closed.
type gateHasher struct {
	plainHasher
	runs    atomic.Int64
	entered chan struct{} // one send per verification, when set
	gate    chan struct{} // verifications wait for its close, when set
	fail    error         // every verification fails with it, when set
}

func (h *gateHasher) verify() error {
	h.runs.Add(1)
	if h.entered != nil {
		h.entered <- struct{}{}
	}
	if h.gate != nil {
		<-h.gate
	}
	return h.fail
}

func (h *gateHasher) Verify(ctx context.Context, pw, enc string) (bool, bool, error) {
	if err := h.verify(); err != nil {
		return false, false, err
	}
	return h.plainHasher.Verify(ctx, pw, enc)
}

func (h *gateHasher) Dummy(context.Context, string) error { return h.verify() }

// verifiedUser signs up and verifies a user with password "long enough".
func verifiedUser(t *testing.T, svc *account.Service, f *fixture) string {
	t.Helper()
	return signedUp(t, svc, f, account.SignupInput{Name: "Ada", Phone: testenv.RandomPhone(), Password: "long enough"}).Phone
}

// signedUp signs up with in and verifies the phone with the code texted
// to it.
func signedUp(t *testing.T, svc *account.Service, f *fixture, in account.SignupInput) *core.User {
	t.Helper()
	res, err := svc.Signup(context.Background(), in)
	mustOK(t, err)
	e164, err := phone.Normalize(in.Phone, in.CountryCode)
	mustOK(t, err)
	u, err := svc.VerifyPhone(context.Background(), res.VerificationID, f.sms.lastCode(t, e164))
	mustOK(t, err)
	return u
}

func fromIP(ip string) context.Context {
	return core.WithClient(context.Background(), core.Client{IP: ip})
}

// burst sends the logins at once, each its own identifier or not, while
// verifications are held: it returns how many reached the hasher, once each
// of them has either reached it or been answered, and then the answers.
func burst(t *testing.T, svc *account.Service, h *gateHasher, logins []account.LoginInput, ctx context.Context) (verified int, answers []error) {
	t.Helper()
	h.entered, h.gate = make(chan struct{}), make(chan struct{})
	results := make(chan error, len(logins))
	var wg sync.WaitGroup
	for _, in := range logins {
		wg.Go(func() {
			_, err := svc.CheckPassword(ctx, in)
			results <- err
		})
	}
	// Every login either reaches the hasher (and waits there) or is answered
	// before it: count both until all are accounted for.
	for verified+len(answers) < len(logins) {
		select {
		case <-h.entered:
			verified++
		case err := <-results:
			answers = append(answers, err)
		}
	}
	close(h.gate)
	wg.Wait()
	close(results)
	for err := range results {
		answers = append(answers, err)
	}
	h.entered, h.gate = nil, nil
	return verified, answers
}

// The reproduced burst: 40 wrong passwords for one account sent at once.
// At most the limit are verified; the rest are refused before any hashing
// with the 429 a sequential lock gives.
func TestPasswordBurstVerifiesAtMostTheLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		h := &gateHasher{}
		svc.Hasher = h
		svc.Limits.LoginDelayAfter = 1000 // the growing delay is another test's
		p := verifiedUser(t, svc, f)

		logins := make([]account.LoginInput, 40)
		for i := range logins {
			logins[i] = account.LoginInput{Phone: p, Password: "wrong password"}
		}
		verified, answers := burst(t, svc, h, logins, fromIP("203.0.113.7"))
		if verified != svc.Limits.LoginFailuresPerAccount {
			t.Fatalf("%d of 40 passwords verified; want the limit, %d", verified, svc.Limits.LoginFailuresPerAccount)
		}
		wantAnswers(t, answers, map[string]int{core.EInvalidCreds: 10, core.ERateLimited: 30})
		// Sequentially the account is now locked, with the same answer.
		_, err := svc.CheckPassword(fromIP("203.0.113.7"), account.LoginInput{Phone: p, Password: "long enough"})
		wantCode(t, err, core.ERateLimited)
		if n := h.runs.Load(); n != 10 {
			t.Fatalf("%d verifications in all; want 10", n)
		}
	})
}

// The same burst from one address over many identifiers stops at the
// per-IP limit.
func TestPasswordBurstFromOneAddress(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		_, svc, _ := newService(t, dialect, kind)
		h := &gateHasher{}
		svc.Hasher = h
		svc.Limits.LoginFailuresPerIP = 7

		logins := make([]account.LoginInput, 40)
		for i := range logins {
			logins[i] = account.LoginInput{Email: fmt.Sprintf("nobody%d-%s@example.com", i, core.NewSecret(4)), Password: "wrong password"}
		}
		verified, answers := burst(t, svc, h, logins, fromIP("2001:db8:1:2::7"))
		if verified != 7 {
			t.Fatalf("%d of 40 passwords verified; want the per-IP limit, 7", verified)
		}
		wantAnswers(t, answers, map[string]int{core.EInvalidCreds: 7, core.ERateLimited: 33})
		// Another address of the same /64 is the same client.
		_, err := svc.CheckPassword(fromIP("2001:db8:1:2::8"), account.LoginInput{Email: "another@example.com", Password: "x"})
		wantCode(t, err, core.ERateLimited)
	})
}

// A right password gives its places back: it is not a failure, so logins
// that succeed never use up the per-IP limit; neither does an attempt that
// reached no verdict.
func TestOnlyFailuresKeepTheirPlace(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, _ := newService(t, dialect, kind)
		h := &gateHasher{}
		svc.Hasher = h
		svc.Limits.LoginFailuresPerIP = 2
		svc.Limits.LoginFailuresPerAccount = 2
		p := verifiedUser(t, svc, f)
		ctx := fromIP("198.51.100.9")
		right := account.LoginInput{Phone: p, Password: "long enough"}
		for range 5 {
			_, err := svc.CheckPassword(ctx, right)
			mustOK(t, err)
		}
		h.fail = errors.New("hasher overloaded")
		for range 5 {
			_, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "wrong password"})
			if err == nil || core.IsCode(err, core.ERateLimited) || core.IsCode(err, core.EInvalidCreds) {
				t.Fatalf("a failed verification answered %v; want its own error", err)
			}
		}
		h.fail = nil
		// Both places are still free: two failures are counted, the third refused.
		for range 2 {
			_, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "wrong password"})
			wantCode(t, err, core.EInvalidCreds)
		}
		_, err := svc.CheckPassword(ctx, right)
		wantCode(t, err, core.ERateLimited)
	})
}

// Unknown user, unverified phone and wrong password do the same work before
// they answer: one verification, and no database write while the client
// waits (the wrong password's trail entry is queued).
func TestRefusedLoginsDoTheSameWork(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		h := &gateHasher{}
		svc.Hasher = h
		events := &heldEvents{SecurityEventStore: db, release: make(chan struct{})}
		queue := store.NewAuditQueue(events, f.clock, slog.New(slog.DiscardHandler), 16)
		svc.LoginAudit = queue
		known := verifiedUser(t, svc, f)
		unverified := testenv.RandomPhone()
		_, err := svc.Signup(context.Background(), account.SignupInput{Name: "Bo", Phone: unverified, Password: "long enough"})
		mustOK(t, err)

		for _, c := range []struct {
			name string
			in   account.LoginInput
		}{
			{"unknown user", account.LoginInput{Phone: testenv.RandomPhone(), Password: "wrong password"}},
			{"unverified phone", account.LoginInput{Phone: unverified, Password: "long enough"}},
			{"wrong password", account.LoginInput{Phone: known, Password: "wrong password"}},
		} {
			before := h.runs.Load()
			_, err := svc.CheckPassword(fromIP("192.0.2.1"), c.in)
			wantCode(t, err, core.EInvalidCreds)
			if n := h.runs.Load() - before; n != 1 {
				t.Fatalf("%s: %d verifications, want 1", c.name, n)
			}
		}
		// The wrong password's event is still held by the store: the login
		// answered without waiting for it. Once let through, it is stored.
		if n := events.stored.Load(); n != 0 {
			t.Fatalf("%d events stored while the write was held", n)
		}
		close(events.release)
		queue.Close()
		if n := events.stored.Load(); n != 1 {
			t.Fatalf("%d events stored after the queue closed; want the wrong password's", n)
		}
		// A locked identifier is refused before any verification, known or not.
		svc.Limits.LoginFailuresPerAccount = 1
		for _, p := range []string{known, testenv.RandomPhone()} {
			_, _ = svc.CheckPassword(fromIP("192.0.2.1"), account.LoginInput{Phone: p, Password: "wrong password"})
			before := h.runs.Load()
			_, err := svc.CheckPassword(fromIP("192.0.2.1"), account.LoginInput{Phone: p, Password: "wrong password"})
			wantCode(t, err, core.ERateLimited)
			if n := h.runs.Load() - before; n != 0 {
				t.Fatalf("a locked identifier ran %d verifications", n)
			}
		}
	})
}

// heldEvents is an event store whose writes wait for release.
type heldEvents struct {
	core.SecurityEventStore
	release chan struct{}
	stored  atomic.Int64
}

func (e *heldEvents) AddEvent(ctx context.Context, ev *core.SecurityEvent) error {
	<-e.release
	if err := e.SecurityEventStore.AddEvent(ctx, ev); err != nil {
		return err
	}
	e.stored.Add(1)
	return nil
}

func wantAnswers(t *testing.T, answers []error, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, err := range answers {
		var e *core.Error
		if !errors.As(err, &e) {
			t.Fatalf("answer %v is not a domain error", err)
		}
		got[e.Code]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answers %v; want %v", got, want)
	}
}
