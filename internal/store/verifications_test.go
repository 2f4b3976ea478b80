package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

func TestVerificationAttemptsLockAtFive(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		for want := 1; want < core.MaxCodeAttempts; want++ {
			n, err := db.ReserveVerificationAttempt(ctx, v.ID, t0)
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
		// Locking wants every attempt taken.
		must(t, db.LockVerification(ctx, v.ID))
		if got, _ = db.Verification(ctx, v.ID); got.Status != core.VerificationPending {
			t.Fatalf("locked with %d attempts taken", got.Attempts)
		}
		_, err = db.ReserveVerificationAttempt(ctx, v.ID, v.ExpiresAt)
		wantCode(t, err, core.EExpired)

		n, err := db.ReserveVerificationAttempt(ctx, v.ID, t0)
		must(t, err)
		if n != core.MaxCodeAttempts {
			t.Fatalf("attempts = %d, want %d", n, core.MaxCodeAttempts)
		}
		// The last attempt is taken, its code not yet compared: no more.
		_, err = db.ReserveVerificationAttempt(ctx, v.ID, t0)
		wantCode(t, err, core.ELocked)
		must(t, db.LockVerification(ctx, v.ID))
		got, _ = db.Verification(ctx, v.ID)
		if got.Status != core.VerificationLocked || got.Attempts != core.MaxCodeAttempts {
			t.Fatalf("after the last wrong code: %s with %d attempts, want locked with %d", got.Status, got.Attempts, core.MaxCodeAttempts)
		}
		_, err = db.ReserveVerificationAttempt(ctx, v.ID, t0)
		wantCode(t, err, core.ELocked)
		_, err = db.CompleteVerification(ctx, v.ID, t0)
		wantCode(t, err, core.ELocked)
		wantCode(t, db.ReplaceVerificationCode(ctx, v.ID, "h", t0), core.ELocked)
	})
}

// Forty attempts at once on one verification: exactly MaxCodeAttempts are
// counted, once each, and every other one is refused as locked.
func TestConcurrentVerificationAttemptsStopAtTheLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		const n = 40
		counts := make([]int, n)
		errs := make([]error, n)
		concurrently(n, func(i int) { counts[i], errs[i] = db.ReserveVerificationAttempt(ctx, v.ID, t0) })
		var got []int
		for i := range n {
			switch {
			case errs[i] == nil:
				got = append(got, counts[i])
			case !core.IsCode(errs[i], core.ELocked):
				t.Fatalf("attempt %d: %v", i, errs[i])
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
			t.Fatalf("reserved counts %v; want 1..%d once each, the rest locked", got, core.MaxCodeAttempts)
		}
		if stored, _ := db.Verification(ctx, v.ID); stored.Attempts != core.MaxCodeAttempts {
			t.Fatalf("stored attempts %d, want %d", stored.Attempts, core.MaxCodeAttempts)
		}
	})
}

// The right code on the last attempt completes; a count past the limit
// (set by hand: no reservation gets there) completes nothing.
func TestCompleteVerificationWithinTheLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u, v := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		for range core.MaxCodeAttempts {
			_, err := db.ReserveVerificationAttempt(ctx, v.ID, t0)
			must(t, err)
		}
		got, err := db.CompleteVerification(ctx, v.ID, t0)
		must(t, err)
		if !got.PhoneVerified {
			t.Fatalf("the right code on attempt %d did not complete: %+v", core.MaxCodeAttempts, got)
		}

		u, v = newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u, v))
		_, err = db.bun.NewUpdate().Model((*verificationRow)(nil)).
			Set("attempts = ?", core.MaxCodeAttempts+1).Where("id = ?", v.ID).Exec(ctx)
		must(t, err)
		_, err = db.CompleteVerification(ctx, v.ID, t0)
		wantCode(t, err, core.ELocked)
		ver, _ := db.Verification(ctx, v.ID)
		user, _ := db.UserByID(ctx, u.ID)
		if ver.Status != core.VerificationPending || user.PhoneVerified {
			t.Fatalf("completed past the limit: verification %s, phone verified %v", ver.Status, user.PhoneVerified)
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
		_, err = db.ReserveVerificationAttempt(ctx, v.ID, t0)
		wantCode(t, err, core.EExpired)

		_, err = db.CompleteVerification(ctx, "ver_missing", t0)
		wantCode(t, err, core.ENotFound)
		_, err = db.ReserveVerificationAttempt(ctx, "ver_missing", t0)
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
