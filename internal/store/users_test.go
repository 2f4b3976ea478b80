package store

import (
	"context"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

func TestSignupReplacesPendingAccount(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		phone := testenv.RandomPhone()
		oldUser, oldVer := newSignup(phone, "old@example.com")
		must(t, db.CreateSignup(ctx, oldUser, oldVer))
		// The pending account's children die with it.
		must(t, db.CreateDevice(ctx, newDevice(oldUser.ID)))
		must(t, db.CreateApproval(ctx, newApproval(oldUser.ID, core.ChannelPush, t0.Add(time.Minute))))

		newUser, newVer := newSignup(phone, "new@example.com")
		must(t, db.CreateSignup(ctx, newUser, newVer))

		_, err := db.UserByID(ctx, oldUser.ID)
		wantCode(t, err, core.ENotFound)
		v, err := db.Verification(ctx, oldVer.ID)
		must(t, err)
		if v.Status != core.VerificationSuperseded {
			t.Fatalf("replaced verification is %q, want superseded", v.Status)
		}
		_, err = db.CompleteVerification(ctx, oldVer.ID, t0)
		wantCode(t, err, core.EExpired)
		if n, err := db.CountDevices(ctx, oldUser.ID); err != nil || n != 0 {
			t.Fatalf("devices of the replaced account: %d, %v", n, err)
		}

		got, err := db.UserByPhone(ctx, phone)
		must(t, err)
		if got.ID != newUser.ID || got.PhoneVerified {
			t.Fatalf("UserByPhone = %+v, want the new unverified account", got)
		}
		got, err = db.CompleteVerification(ctx, newVer.ID, t0)
		must(t, err)
		if got.ID != newUser.ID || !got.PhoneVerified {
			t.Fatalf("CompleteVerification = %+v", got)
		}
	})
}

// A locked verification of a replaced account answers expired too.
func TestSignupReplacesLockedVerification(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		phone := testenv.RandomPhone()
		oldUser, oldVer := newSignup(phone, "")
		must(t, db.CreateSignup(ctx, oldUser, oldVer))
		for range core.MaxCodeAttempts {
			_, err := db.ReserveVerificationAttempt(ctx, oldVer.ID, t0)
			must(t, err)
		}
		must(t, db.LockVerification(ctx, oldVer.ID))
		_, err := db.CompleteVerification(ctx, oldVer.ID, t0)
		wantCode(t, err, core.ELocked)

		newUser, newVer := newSignup(phone, "")
		must(t, db.CreateSignup(ctx, newUser, newVer))
		_, err = db.CompleteVerification(ctx, oldVer.ID, t0)
		wantCode(t, err, core.EExpired)
	})
}

func TestSignupPhoneTaken(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		existing := verifiedUser(t, db, "")
		u, v := newSignup(existing.Phone, "")
		wantCode(t, db.CreateSignup(ctx, u, v), core.EPhoneTaken)
		_, err := db.UserByID(ctx, u.ID)
		wantCode(t, err, core.ENotFound)
		_, err = db.Verification(ctx, v.ID)
		wantCode(t, err, core.ENotFound)
	})
}

func TestSignupEmailTaken(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		verifiedUser(t, db, "Ada@Example.com")

		u, v := newSignup(testenv.RandomPhone(), "ADA@example.COM")
		wantCode(t, db.CreateSignup(ctx, u, v), core.EEmailTaken)

		// An unverified account does not hold its email.
		u1, v1 := newSignup(testenv.RandomPhone(), "grace@example.com")
		must(t, db.CreateSignup(ctx, u1, v1))
		u2, v2 := newSignup(testenv.RandomPhone(), "Grace@Example.com")
		must(t, db.CreateSignup(ctx, u2, v2))
		// Nor does an account without email block another without.
		u3, v3 := newSignup(testenv.RandomPhone(), "")
		must(t, db.CreateSignup(ctx, u3, v3))
		_, err := db.CompleteVerification(ctx, v3.ID, t0)
		must(t, err)
	})
}

// Two unverified accounts may share an email (or, after a race, a phone);
// the one verified second is refused by the unique indexes and stays
// pending.
func TestCompleteVerificationConflicts(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u1, v1 := newSignup(testenv.RandomPhone(), "ada@example.com")
		u2, v2 := newSignup(testenv.RandomPhone(), "ada@example.com")
		must(t, db.CreateSignup(ctx, u1, v1))
		must(t, db.CreateSignup(ctx, u2, v2))
		_, err := db.CompleteVerification(ctx, v1.ID, t0)
		must(t, err)
		_, err = db.CompleteVerification(ctx, v2.ID, t0)
		wantCode(t, err, core.EEmailTaken)
		if v, _ := db.Verification(ctx, v2.ID); v.Status != core.VerificationPending {
			t.Fatalf("refused verification is %q, want still pending", v.Status)
		}

		// Same phone: insert the second pending account directly, as a race
		// of two signups could leave it.
		phone := testenv.RandomPhone()
		u3, v3 := newSignup(phone, "")
		u4, v4 := newSignup(phone, "")
		must(t, db.CreateSignup(ctx, u3, v3))
		_, err = db.bun.NewInsert().Model(newUserRow(u4)).Exec(ctx)
		must(t, err)
		_, err = db.bun.NewInsert().Model(newVerificationRow(v4)).Exec(ctx)
		must(t, err)
		_, err = db.CompleteVerification(ctx, v3.ID, t0)
		must(t, err)
		_, err = db.CompleteVerification(ctx, v4.ID, t0)
		wantCode(t, err, core.EPhoneTaken)
		got, err := db.UserByPhone(ctx, phone)
		must(t, err)
		if got.ID != u3.ID {
			t.Fatalf("UserByPhone prefers %s, want the verified %s", got.ID, u3.ID)
		}
	})
}

func TestUserLookupsAndUpdates(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "Lin@Example.com")
		if u.Email != "lin@example.com" {
			t.Fatalf("email stored as %q, want lower-cased", u.Email)
		}
		byEmail, err := db.UserByEmail(ctx, "LIN@example.com")
		must(t, err)
		if byEmail.ID != u.ID {
			t.Fatalf("UserByEmail = %s, want %s", byEmail.ID, u.ID)
		}
		_, err = db.UserByEmail(ctx, "")
		wantCode(t, err, core.ENotFound)
		_, err = db.UserByPhone(ctx, "+19999999999")
		wantCode(t, err, core.ENotFound)

		later := t0.Add(time.Hour + 123*time.Nanosecond)
		must(t, db.SetPasswordHash(ctx, u.ID, "$argon2id$new", later))
		must(t, db.SetTwoFactor(ctx, u.ID, true, later))
		got, err := db.UserByID(ctx, u.ID)
		must(t, err)
		if got.PasswordHash != "$argon2id$new" || !got.TwoFactor || !got.UpdatedAt.Equal(later.Truncate(time.Microsecond)) {
			t.Fatalf("after updates: %+v", got)
		}
		if !got.CreatedAt.Equal(t0) || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("CreatedAt = %v, want %v in UTC", got.CreatedAt, t0)
		}
		must(t, db.SetTwoFactor(ctx, u.ID, false, later))
		got, _ = db.UserByID(ctx, u.ID)
		if got.TwoFactor {
			t.Fatal("two-factor still on")
		}
		wantCode(t, db.SetPasswordHash(ctx, "usr_missing", "x", later), core.ENotFound)
		wantCode(t, db.SetTwoFactor(ctx, "usr_missing", true, later), core.ENotFound)
	})
}
