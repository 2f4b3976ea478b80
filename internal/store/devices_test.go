package store

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

func TestEnrollmentSingleUseAndExpiry(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		e := &core.Enrollment{CodeHash: "enr-hash", UserID: u.ID, ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0}
		must(t, db.CreateEnrollment(ctx, e))

		_, err := db.UseEnrollment(ctx, "enr-hash", e.ExpiresAt)
		wantCode(t, err, core.EInvalidCode)
		usedAt := e.ExpiresAt.Add(-time.Microsecond)
		got, err := db.UseEnrollment(ctx, "enr-hash", usedAt)
		must(t, err)
		if got.UserID != u.ID || got.UsedAt == nil || !got.UsedAt.Equal(usedAt) || !got.ExpiresAt.Equal(e.ExpiresAt) {
			t.Fatalf("UseEnrollment = %+v", got)
		}
		_, err = db.UseEnrollment(ctx, "enr-hash", t0)
		wantCode(t, err, core.EInvalidCode)
		_, err = db.UseEnrollment(ctx, "unknown", t0)
		wantCode(t, err, core.EInvalidCode)

		// Presented many times at once, it still works once.
		must(t, db.CreateEnrollment(ctx, &core.Enrollment{CodeHash: "race", UserID: u.ID, ExpiresAt: t0.Add(time.Minute), CreatedAt: t0}))
		const n = 10
		errs := make([]error, n)
		concurrently(n, func(i int) { _, errs[i] = db.UseEnrollment(ctx, "race", t0) })
		if ok := countNil(t, errs, core.EInvalidCode); ok != 1 {
			t.Fatalf("%d uses succeeded, want 1", ok)
		}
	})
}

// countNil counts nil errors and fails on any error without code.
func countNil(t *testing.T, errs []error, code string) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !core.IsCode(err, code) {
			t.Fatal(err)
		}
	}
	return ok
}

func TestDeviceRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		d := newDevice(u.ID)
		d.PushURL = ""
		must(t, db.CreateDevice(ctx, d))
		got, err := db.Device(ctx, d.ID)
		must(t, err)
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("Device = %+v, want %+v", got, d)
		}
		_, err = db.Device(ctx, "dev_missing")
		wantCode(t, err, core.ENotFound)

		must(t, db.TouchDevice(ctx, d.ID, t0.Add(time.Hour)))
		got, _ = db.Device(ctx, d.ID)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("LastUsedAt = %v", got.LastUsedAt)
		}
		wantCode(t, db.TouchDevice(ctx, "dev_missing", t0), core.ENotFound)
	})
}

func TestDeviceLimitAndKeyTaken(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		other := verifiedUser(t, db, "")
		var first *core.Device
		for i := range core.MaxDevices {
			d := newDevice(u.ID)
			d.CreatedAt = t0.Add(time.Duration(i) * time.Microsecond)
			must(t, db.CreateDevice(ctx, d))
			if first == nil {
				first = d
			}
		}
		wantCode(t, db.CreateDevice(ctx, newDevice(u.ID)), core.ETooManyDevices)
		if n, err := db.CountDevices(ctx, u.ID); err != nil || n != core.MaxDevices {
			t.Fatalf("CountDevices = %d, %v", n, err)
		}
		list, err := db.DevicesByUser(ctx, u.ID)
		must(t, err)
		if len(list) != core.MaxDevices || list[0].ID != first.ID {
			t.Fatalf("DevicesByUser: %d devices, first %s, want %d starting with %s", len(list), list[0].ID, core.MaxDevices, first.ID)
		}

		// A key is unique across users.
		dup := newDevice(other.ID)
		dup.PublicKey = first.PublicKey
		wantCode(t, db.CreateDevice(ctx, dup), core.EKeyTaken)
		wantCode(t, db.CreateDevice(ctx, newDevice("usr_missing")), core.ENotFound)

		// Another user's device cannot be deleted through u.
		wantCode(t, db.DeleteDevice(ctx, other.ID, first.ID), core.ENotFound)
		must(t, db.DeleteDevice(ctx, u.ID, first.ID))
		wantCode(t, db.DeleteDevice(ctx, u.ID, first.ID), core.ENotFound)
		must(t, db.CreateDevice(ctx, newDevice(u.ID)))
	})
}

// The constraint behind the key check: two enrollments of one key at once
// store one device.
func TestDeviceKeyRace(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		key := core.RandomBytes(32)
		const n = 6
		errs := make([]error, n)
		users := make([]*core.User, n)
		for i := range users {
			users[i] = verifiedUser(t, db, "")
		}
		concurrently(n, func(i int) {
			d := newDevice(users[i].ID)
			d.PublicKey = key
			errs[i] = db.CreateDevice(ctx, d)
		})
		if ok := countNil(t, errs, core.EKeyTaken); ok != 1 {
			t.Fatalf("%d devices stored with one key, want 1", ok)
		}
	})
}

// Concurrent enrollments of one user cannot pass the limit together.
func TestDeviceLimitRace(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		for range core.MaxDevices - 2 {
			must(t, db.CreateDevice(ctx, newDevice(u.ID)))
		}
		const n = 8
		errs := make([]error, n)
		concurrently(n, func(i int) { errs[i] = db.CreateDevice(ctx, newDevice(u.ID)) })
		if ok := countNil(t, errs, core.ETooManyDevices); ok != 2 {
			t.Fatalf("%d of %d concurrent enrollments succeeded with room for 2", ok, n)
		}
		if n, _ := db.CountDevices(ctx, u.ID); n != core.MaxDevices {
			t.Fatalf("user has %d devices, want %d", n, core.MaxDevices)
		}
	})
}

func TestAcceptTOTPStep(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		d := newDevice(u.ID)
		must(t, db.CreateDevice(ctx, d))

		for _, c := range []struct {
			step int64
			want bool
		}{{100, true}, {100, false}, {99, false}, {101, true}, {100, false}} {
			got, err := db.AcceptTOTPStep(ctx, d.ID, c.step, t0)
			must(t, err)
			if got != c.want {
				t.Fatalf("AcceptTOTPStep(%d) = %v, want %v", c.step, got, c.want)
			}
		}
		stored, _ := db.Device(ctx, d.ID)
		if stored.LastTOTPStep != 101 {
			t.Fatalf("LastTOTPStep = %d, want 101", stored.LastTOTPStep)
		}

		const n = 10
		accepted := make([]bool, n)
		errs := make([]error, n)
		concurrently(n, func(i int) { accepted[i], errs[i] = db.AcceptTOTPStep(ctx, d.ID, 200, t0) })
		ok := 0
		for i := range n {
			must(t, errs[i])
			if accepted[i] {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("step accepted %d times, want once", ok)
		}
		_, err := db.AcceptTOTPStep(ctx, "dev_missing", 1, t0)
		wantCode(t, err, core.ENotFound)
	})
}

// TestDeviceWebPush: a subscription round-trips, and DropWebPush clears only
// the subscription it names.
func TestDeviceWebPush(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		d := newDevice(u.ID)
		d.WebPush = core.WebPush{Endpoint: "https://push.example/sub/1", P256dh: make([]byte, 65), Auth: []byte("0123456789abcdef")}
		d.WebPush.P256dh[0] = 4
		must(t, db.CreateDevice(ctx, d))
		got, err := db.Device(ctx, d.ID)
		must(t, err)
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("Device = %+v, want %+v", got, d)
		}
		if ok, err := db.DropWebPush(ctx, d.ID, "https://push.example/sub/other"); err != nil || ok {
			t.Fatalf("DropWebPush(other endpoint) = %v, %v", ok, err)
		}
		if ok, err := db.DropWebPush(ctx, d.ID, d.WebPush.Endpoint); err != nil || !ok {
			t.Fatalf("DropWebPush = %v, %v", ok, err)
		}
		got, _ = db.Device(ctx, d.ID)
		if got.WebPush.Endpoint != "" || got.PushURL != d.PushURL {
			t.Fatalf("after DropWebPush: %+v", got)
		}
		if ok, err := db.DropWebPush(ctx, d.ID, d.WebPush.Endpoint); err != nil || ok {
			t.Fatalf("DropWebPush again = %v, %v", ok, err)
		}
	})
}

// TestSetWebPush: a device's subscription is set, replaced and cleared,
// leaving its other fields; a missing device is ENotFound.
func TestSetWebPush(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		d := newDevice(u.ID)
		must(t, db.CreateDevice(ctx, d))
		for _, w := range []core.WebPush{
			{Endpoint: "https://push.example/sub/1", P256dh: append([]byte{4}, make([]byte, 64)...), Auth: []byte("0123456789abcdef")},
			{Endpoint: "https://push.example/sub/2", P256dh: append([]byte{4}, bytes.Repeat([]byte{1}, 64)...), Auth: []byte("fedcba9876543210")},
			{},
		} {
			must(t, db.SetWebPush(ctx, d.ID, w))
			got, err := db.Device(ctx, d.ID)
			must(t, err)
			want := *d
			want.WebPush = w
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("Device = %+v, want %+v", got, &want)
			}
		}
		wantCode(t, db.SetWebPush(ctx, "dev_missing", core.WebPush{}), core.ENotFound)
	})
}

// TestDeviceKeys: the newest devices first, as many as asked, each with
// its id, user and public key.
func TestDeviceKeys(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		u := verifiedUser(t, db, "")
		var made []*core.Device
		for i := range 3 {
			d := newDevice(u.ID)
			d.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
			must(t, db.CreateDevice(ctx, d))
			made = append(made, d)
		}
		got, err := db.DeviceKeys(ctx, 2)
		must(t, err)
		want := []*core.Device{made[2], made[1]}
		if len(got) != len(want) {
			t.Fatalf("%d devices; want %d", len(got), len(want))
		}
		for i, d := range want {
			if g := got[i]; g.ID != d.ID || g.UserID != d.UserID || !bytes.Equal(g.PublicKey, d.PublicKey) {
				t.Fatalf("device %d = %+v; want %s of %s with its key", i, g, d.ID, d.UserID)
			}
		}
	})
}
