package account_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/password"
)

// An imported bcrypt hash, or an Argon2id hash of other parameters, is
// replaced by a current one at the first successful login, and the
// password still works; a wrong password leaves the old hash alone, and a
// current hash is left as it is. (Small Argon2id costs keep this fast.)
func TestOutdatedHashIsReplacedAtLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		current := password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, 2)
		svc.Hasher = current
		ctx := context.Background()
		p := verifiedUser(t, svc, f)
		u, err := db.UserByPhone(ctx, p)
		mustOK(t, err)

		const pw = "long enough"
		bcrypted, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		mustOK(t, err)
		older, err := password.New(password.Params{Memory: 32, Time: 2, Threads: 1}, 1).Hash(ctx, pw)
		mustOK(t, err)
		for _, old := range []string{string(bcrypted), older} {
			mustOK(t, db.SetPasswordHash(ctx, u.ID, old, f.clock.Now()))
			_, err := svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: "not the password"})
			wantCode(t, err, core.EInvalidCreds)
			if h := hashOf(t, db, u.ID); h != old {
				t.Fatalf("a wrong password replaced the hash %.12s… with %.12s…", old, h)
			}

			f.clock.Advance(time.Minute)
			_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: pw})
			mustOK(t, err)
			upgraded := hashOf(t, db, u.ID)
			if ok, rehash, err := current.Verify(ctx, pw, upgraded); err != nil || !ok || rehash {
				t.Fatalf("after login with %.12s…, the stored hash %.24s… is not a current hash of the password (ok %v, outdated %v, %v)", old, upgraded, ok, rehash, err)
			}
			if stored, _ := db.UserByID(ctx, u.ID); !stored.UpdatedAt.Equal(f.clock.Now()) {
				t.Fatalf("updated_at %v; want the login's %v", stored.UpdatedAt, f.clock.Now())
			}

			_, err = svc.CheckPassword(ctx, account.LoginInput{Phone: p, Password: pw})
			mustOK(t, err)
			if h := hashOf(t, db, u.ID); h != upgraded {
				t.Fatal("a current hash was replaced again")
			}
		}
	})
}

func hashOf(t *testing.T, users core.UserStore, userID string) string {
	t.Helper()
	u, err := users.UserByID(context.Background(), userID)
	mustOK(t, err)
	return u.PasswordHash
}
