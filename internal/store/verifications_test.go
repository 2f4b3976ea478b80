package store

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

func TestVerificationFailuresLockAtFive(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		for want := 1; want < core.MaxCodeAttempts; want++ {
			n, err := db.AddVerificationFailure(ctx, v.ID)
			must(t, err)
			if n != want {
				t.Fatalf("attempts = %d, want %d", n, want)
			}
		}
		// A resend keeps the count.
		must(t, db.ReplaceVerificationCode(ctx, v.ID, "new-hash", t0.Add(time.Minute)))
		got, err := db.Verification(ctx, v.ID)
		must(t, err)
		if got.Status != core.VerificationPending || got.Attempts != core.MaxCodeAttempts-1 || got.CodeHash != "new-hash" ||
			!got.LastSentAt.Equal(t0.Add(time.Minute)) || !got.ExpiresAt.Equal(v.ExpiresAt) {
			t.Fatalf("after resend: %+v", got)
		}

		n, err := db.AddVerificationFailure(ctx, v.ID)
		must(t, err)
		if n != core.MaxCodeAttempts {
			t.Fatalf("attempts = %d, want %d", n, core.MaxCodeAttempts)
		}
		got, _ = db.Verification(ctx, v.ID)
		if got.Status != core.VerificationLocked {
			t.Fatalf("status after %d failures = %q, want locked", n, got.Status)
		}
		_, err = db.AddVerificationFailure(ctx, v.ID)
		wantCode(t, err, core.ELocked)
		_, err = db.CompleteVerification(ctx, v.ID, t0)
		wantCode(t, err, core.ELocked)
		wantCode(t, db.ReplaceVerificationCode(ctx, v.ID, "h", t0), core.ELocked)
	})
}

func TestConcurrentVerificationFailuresCountEach(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		const n = 12
		counts := make([]int, n)
		errs := make([]error, n)
		concurrently(n, func(i int) { counts[i], errs[i] = db.AddVerificationFailure(ctx, v.ID) })
		seen := map[int]bool{}
		locked := 0
		for i := range n {
			switch {
			case errs[i] == nil:
				seen[counts[i]] = true
			case core.IsCode(errs[i], core.ELocked):
				locked++
			default:
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
		}
		if len(seen) != core.MaxCodeAttempts || locked != n-core.MaxCodeAttempts {
			t.Fatalf("counted %v and %d locked; want 1..%d once each and the rest locked", seen, locked, core.MaxCodeAttempts)
		}
	})
}

func TestCompleteVerification(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))

		// Expiry boundary: at expires_at it is expired, 1 µs before it is not.
		_, err := db.CompleteVerification(ctx, v.ID, v.ExpiresAt)
		wantCode(t, err, core.EExpired)
		got, err := db.CompleteVerification(ctx, v.ID, v.ExpiresAt.Add(-time.Microsecond))
		must(t, err)
		if !got.PhoneVerified || got.ID != u.ID {
			t.Fatalf("CompleteVerification = %+v", got)
		}
		ver, _ := db.Verification(ctx, v.ID)
		if ver.Status != core.VerificationVerified {
			t.Fatalf("status = %q, want verified", ver.Status)
		}
		// A code works once.
		_, err = db.CompleteVerification(ctx, v.ID, t0)
		wantCode(t, err, core.EExpired)
		_, err = db.AddVerificationFailure(ctx, v.ID)
		wantCode(t, err, core.EExpired)

		_, err = db.CompleteVerification(ctx, "ver_missing", t0)
		wantCode(t, err, core.ENotFound)
		_, err = db.AddVerificationFailure(ctx, "ver_missing")
		wantCode(t, err, core.ENotFound)
		wantCode(t, db.ReplaceVerificationCode(ctx, "ver_missing", "h", t0), core.ENotFound)
	})
}

func TestCompleteVerificationOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		const n = 10
		errs := make([]error, n)
		concurrently(n, func(i int) { _, errs[i] = db.CompleteVerification(ctx, v.ID, t0) })
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !core.IsCode(err, core.EExpired) {
				t.Fatal(err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d completions succeeded, want 1", ok)
		}
	})
}

// A resend swaps the code but keeps the expiry set at signup, up to its
// very end: one resend just before it is refused, the verification having
// expired in the meantime.
func TestResendKeepsTheExpiry(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		last := v.ExpiresAt.Add(-time.Millisecond)
		must(t, db.ReplaceVerificationCode(ctx, v.ID, "resent", last))
		got, err := db.Verification(ctx, v.ID)
		must(t, err)
		if !got.ExpiresAt.Equal(v.ExpiresAt) || got.CodeHash != "resent" || !got.LastSentAt.Equal(last) {
			t.Fatalf("after a resend: expires %v (want %v), code %q, sent %v", got.ExpiresAt, v.ExpiresAt, got.CodeHash, got.LastSentAt)
		}
		wantCode(t, db.ReplaceVerificationCode(ctx, v.ID, "late", v.ExpiresAt), core.EExpired)
		got, err = db.Verification(ctx, v.ID)
		must(t, err)
		if got.CodeHash != "resent" {
			t.Fatalf("a resend after the expiry replaced the code: %q", got.CodeHash)
		}
		_, err = db.CompleteVerification(ctx, v.ID, v.ExpiresAt)
		wantCode(t, err, core.EExpired)
	})
}
