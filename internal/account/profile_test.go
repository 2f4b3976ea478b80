package account_test

import (
	"context"
	"testing"

	"github.com/approvald/approvald/internal/account"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/ephemeraltest"
	"github.com/approvald/approvald/internal/store"
	"github.com/approvald/approvald/internal/testenv"
)

// The profile is the account as stored and the number of its own devices,
// not counting another user's; an unknown user has none.
func TestProfile(t *testing.T) {
	forEachStore(t, func(t *testing.T, dialect string, kind ephemeraltest.Kind) {
		f, svc, db := newService(t, dialect, kind)
		ctx := context.Background()
		p := testenv.RandomPhone()
		ada := signedUp(t, svc, f, account.SignupInput{Name: "Ada", Email: "Ada@example.com", Phone: p, Password: "long enough"})
		bo := signedUp(t, svc, f, account.SignupInput{Name: "Bo", Phone: testenv.RandomPhone(), Password: "long enough"})

		prof, err := svc.Profile(ctx, ada.ID)
		mustOK(t, err)
		if u := prof.User; u.ID != ada.ID || u.Name != "Ada" || u.Email != "ada@example.com" || u.Phone != p ||
			!u.PhoneVerified || !u.TwoFactor || !u.CreatedAt.Equal(t0) || prof.Devices != 0 {
			t.Fatalf("profile %+v with %d devices", *u, prof.Devices)
		}

		addDevices(t, db, ada.ID, 2)
		addDevices(t, db, bo.ID, 1)
		prof, err = svc.Profile(ctx, ada.ID)
		mustOK(t, err)
		if prof.Devices != 2 {
			t.Fatalf("%d devices; want Ada's 2", prof.Devices)
		}
		_, err = svc.Profile(ctx, "usr_unknown")
		wantCode(t, err, core.ENotFound)
	})
}

func addDevices(t *testing.T, db *store.DB, userID string, n int) {
	t.Helper()
	for range n {
		d := &core.Device{ID: core.NewID(core.PrefixDevice), UserID: userID, Name: "phone", PublicKey: core.RandomBytes(32), CreatedAt: t0}
		mustOK(t, db.CreateDevice(context.Background(), d))
	}
}
