package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/approvald/approvald/internal/core"
)

type deviceRow struct {
	bun.BaseModel `bun:"table:devices"`

	ID            string  `bun:"id,pk"`
	UserID        string  `bun:"user_id"`
	Name          string  `bun:"name"`
	PublicKey     []byte  `bun:"public_key"`
	PushURL       string  `bun:"push_url"`
	WebPushURL    string  `bun:"web_push_endpoint"`
	WebPushP256dh []byte  `bun:"web_push_p256dh"`
	WebPushAuth   []byte  `bun:"web_push_auth"`
	TOTPSecretEnc []byte  `bun:"totp_secret_enc"`
	LastTOTPStep  int64   `bun:"last_totp_step"`
	CreatedAt     dbTime  `bun:"created_at"`
	LastUsedAt    *dbTime `bun:"last_used_at"`
	PushKeySeen   string  `bun:"push_key_seen"`
}

func newDeviceRow(d *core.Device) *deviceRow {
	return &deviceRow{
		ID:            d.ID,
		UserID:        d.UserID,
		Name:          d.Name,
		PublicKey:     nonNil(d.PublicKey),
		PushURL:       d.PushURL,
		WebPushURL:    d.WebPush.Endpoint,
		WebPushP256dh: nonNil(d.WebPush.P256dh),
		WebPushAuth:   nonNil(d.WebPush.Auth),
		TOTPSecretEnc: nonNil(d.TOTPSecretEnc),
		LastTOTPStep:  d.LastTOTPStep,
		CreatedAt:     ts(d.CreatedAt),
		LastUsedAt:    tsPtr(d.LastUsedAt),
		PushKeySeen:   d.PushKeySeen,
	}
}

// nonNil keeps bun from writing NULL for an empty byte slice.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (r *deviceRow) device() *core.Device {
	var wp core.WebPush
	if r.WebPushURL != "" {
		wp = core.WebPush{Endpoint: r.WebPushURL, P256dh: r.WebPushP256dh, Auth: r.WebPushAuth}
	}
	return &core.Device{
		WebPush:       wp,
		ID:            r.ID,
		UserID:        r.UserID,
		Name:          r.Name,
		PublicKey:     r.PublicKey,
		PushURL:       r.PushURL,
		TOTPSecretEnc: r.TOTPSecretEnc,
		LastTOTPStep:  r.LastTOTPStep,
		CreatedAt:     r.CreatedAt.Time,
		LastUsedAt:    timePtr(r.LastUsedAt),
		PushKeySeen:   r.PushKeySeen,
	}
}

func errKeyTaken() error {
	return core.Errorf(core.EKeyTaken, "this public key is already enrolled")
}

// CreateDevice stores d. The device limit is counted under a lock on the
// user, so concurrent enrollments cannot pass it together; the unique index
// on public_key backs the key check.
func (db *DB) CreateDevice(ctx context.Context, d *core.Device) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := db.lockUserRow(ctx, tx, d.UserID); err != nil {
			return err
		}
		n, err := tx.NewSelect().Model((*deviceRow)(nil)).Where("user_id = ?", d.UserID).Count(ctx)
		if err != nil {
			return err
		}
		if n >= core.MaxDevices {
			return core.Errorf(core.ETooManyDevices, "at most %d devices per user", core.MaxDevices)
		}
		taken, err := tx.NewSelect().Model((*deviceRow)(nil)).Where("public_key = ?", nonNil(d.PublicKey)).Exists(ctx)
		if err != nil {
			return err
		}
		if taken {
			return errKeyTaken()
		}
		if _, err := tx.NewInsert().Model(newDeviceRow(d)).Exec(ctx); err != nil {
			if uniqueViolation(err, devicePublicKey...) {
				return errKeyTaken()
			}
			return err
		}
		return nil
	})
}

func (db *DB) Device(ctx context.Context, id string) (*core.Device, error) {
	var row deviceRow
	if err := db.bun.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFoundOr(err, "device")
	}
	return row.device(), nil
}

// DeviceKeys returns up to limit devices, the newest first, with only what
// never changes about them: ID, UserID and PublicKey (an instance that
// starts learns the keys its callbacks will be signed with in one read).
func (db *DB) DeviceKeys(ctx context.Context, limit int) ([]*core.Device, error) {
	var rows []deviceRow
	err := db.bun.NewSelect().Model(&rows).Column("id", "user_id", "public_key").
		OrderExpr("created_at DESC, id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	devices := make([]*core.Device, len(rows))
	for i, r := range rows {
		devices[i] = &core.Device{ID: r.ID, UserID: r.UserID, PublicKey: r.PublicKey}
	}
	return devices, nil
}

// DevicesByUser lists the user's devices, oldest first.
func (db *DB) DevicesByUser(ctx context.Context, userID string) ([]*core.Device, error) {
	var rows []deviceRow
	err := db.bun.NewSelect().Model(&rows).Where("user_id = ?", userID).
		OrderExpr("created_at, id").Scan(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	devices := make([]*core.Device, len(rows))
	for i := range rows {
		devices[i] = rows[i].device()
	}
	return devices, nil
}

func (db *DB) CountDevices(ctx context.Context, userID string) (int, error) {
	n, err := db.bun.NewSelect().Model((*deviceRow)(nil)).Where("user_id = ?", userID).Count(ctx)
	if err != nil {
		return 0, dbErr(err)
	}
	return int(n), nil
}

// DeleteDevice removes the user's device; ENotFound when the user has no
// device with that id.
func (db *DB) DeleteDevice(ctx context.Context, userID, id string) error {
	res, err := db.bun.NewDelete().Model((*deviceRow)(nil)).
		Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	return foundOne(res, "device")
}

// AcceptTOTPStep moves last_totp_step forward to step, once: the condition
// last_totp_step < step makes a replayed or older step match nothing.
func (db *DB) AcceptTOTPStep(ctx context.Context, deviceID string, step int64, now time.Time) (bool, error) {
	res, err := db.bun.NewUpdate().Model((*deviceRow)(nil)).
		Set("last_totp_step = ?", step).
		Set("last_used_at = ?", ts(now)).
		Where("id = ?", deviceID).Where("last_totp_step < ?", step).
		Exec(ctx)
	if err != nil {
		return false, dbErr(err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	if _, err := db.Device(ctx, deviceID); err != nil {
		return false, err
	}
	return false, nil
}

func (db *DB) TouchDevice(ctx context.Context, id string, now time.Time) error {
	res, err := db.bun.NewUpdate().Model((*deviceRow)(nil)).
		Set("last_used_at = ?", ts(now)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	return foundOne(res, "device")
}

// SetPushKeySeen records that the device confirmed the push key kid;
// changed is false when it had already.
func (db *DB) SetPushKeySeen(ctx context.Context, deviceID, kid string) (changed bool, err error) {
	res, err := db.bun.NewUpdate().Model((*deviceRow)(nil)).Set("push_key_seen = ?", kid).
		Where("id = ?", deviceID).Where("push_key_seen <> ?", kid).Exec(ctx)
	if err != nil {
		return false, dbErr(err)
	}
	n, err := rowsAffected(res)
	return n == 1, err
}

// CountDevicesNotOnPushKey counts the devices, of every user, that have not
// confirmed the push key kid.
func (db *DB) CountDevicesNotOnPushKey(ctx context.Context, kid string) (int, error) {
	n, err := db.bun.NewSelect().Model((*deviceRow)(nil)).Where("push_key_seen <> ?", kid).Count(ctx)
	if err != nil {
		return 0, dbErr(err)
	}
	return int(n), nil
}

// SetWebPush stores w as the device's Web Push subscription, replacing any
// other; an empty w clears it. ENotFound when there is no such device.
func (db *DB) SetWebPush(ctx context.Context, id string, w core.WebPush) error {
	res, err := db.bun.NewUpdate().Model((*deviceRow)(nil)).
		Set("web_push_endpoint = ?", w.Endpoint).
		Set("web_push_p256dh = ?", nonNil(w.P256dh)).
		Set("web_push_auth = ?", nonNil(w.Auth)).
		Where("id = ?", id).
		Exec(ctx)
	if err != nil {
		return dbErr(err)
	}
	return foundOne(res, "device")
}

// DropWebPush clears the device's Web Push subscription while it is still
// the one at endpoint, so a subscription the device renewed meanwhile stays.
func (db *DB) DropWebPush(ctx context.Context, id, endpoint string) (bool, error) {
	res, err := db.bun.NewUpdate().Model((*deviceRow)(nil)).
		Set("web_push_endpoint = ''").
		Set("web_push_p256dh = ?", []byte{}).
		Set("web_push_auth = ?", []byte{}).
		Where("id = ?", id).Where("web_push_endpoint = ?", endpoint).Where("web_push_endpoint <> ''").
		Exec(ctx)
	if err != nil {
		return false, dbErr(err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return false, err
	}
	return n == 1, nil
}
