package approval_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/approval"
	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/keyring"
	"github.com/approvald/approvald/internal/signing"
)

// pushKeyFixture is a fixture whose service announces the rotating push
// keys of ring, with a push device and a pulling one for one user, and
// the bodies of the pushes sent.
type pushKeyFixture struct {
	*fixture
	ring          *keyring.Ring
	user          *core.User
	phone, puller *core.Device

	mu     sync.Mutex
	bodies [][]byte
}

func newPushKeyFixture(t *testing.T, dialect string) *pushKeyFixture {
	t.Helper()
	f := &pushKeyFixture{fixture: newFixtureOn(t, dialect)}
	ring, err := keyring.Load(context.Background(), f.db, core.KeyPush, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	f.ring = ring
	f.svc.PushKeys = ring
	f.svc.Config.PushKeySwitchDelay = 2 * time.Minute
	f.pusher.send = func(_ context.Context, _ string, payload []byte) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.bodies = append(f.bodies, payload)
		return nil
	}
	f.user = f.fixture.user(t)
	f.phone, _ = f.device(t, f.user, "https://phone.test/push")
	f.puller, _ = f.device(t, f.user, "")
	return f
}

// push starts and delivers a login and returns the push's next_key.
func (f *pushKeyFixture) push(t *testing.T) *struct{ KID, SignedBy string } {
	t.Helper()
	st := f.start(t, f.user)
	f.svc.Deliver(context.Background(), st)
	f.mu.Lock()
	defer f.mu.Unlock()
	var body approval.PushRequest
	if err := json.Unmarshal(f.bodies[len(f.bodies)-1], &body); err != nil {
		t.Fatal(err)
	}
	if body.NextKey == nil {
		return nil
	}
	return &struct{ KID, SignedBy string }{body.NextKey.KID, body.NextKey.SignedBy}
}

func (f *pushKeyFixture) rotate(t *testing.T, grace time.Duration) (oldKID, newKID string, old ed25519.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	oldKID, old = f.ring.Active()
	fresh, err := keyring.RotatePushKey(ctx, f.db, f.clock.Now(), grace)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ring.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return oldKID, fresh.KID, old
}

// TestPushKeySwitchesWhenEveryDeviceConfirmed: after rotate-key --push the
// old key signs and pushes announce the new one; once every device has
// confirmed it, the new key signs after the switch delay, and pushes to
// devices that confirmed announce nothing.
func TestPushKeySwitchesWhenEveryDeviceConfirmed(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			f := newPushKeyFixture(t, dialect)
			if next := f.push(t); next != nil {
				t.Fatalf("a push before any rotation announces %+v", next)
			}
			oldKID, newKID, _ := f.rotate(t, time.Hour)
			if next := f.push(t); next == nil || next.KID != newKID || next.SignedBy != oldKID {
				t.Fatalf("the push after the rotation announces %+v, want %s signed by %s", next, newKID, oldKID)
			}

			// A key that is not the newest is not recorded.
			f.svc.ConfirmPushKey(ctx, f.phone.ID, oldKID, "")
			if n, _ := f.db.CountDevicesNotOnPushKey(ctx, newKID); n != 2 {
				t.Fatalf("%d devices not on the new key, want 2", n)
			}
			f.svc.ConfirmPushKey(ctx, f.phone.ID, newKID, "?")
			if kid, _ := f.ring.Active(); kid != oldKID {
				t.Fatal("the new key signs while a device has not confirmed it")
			}
			if _, _, ok := f.ring.Pending(); !ok {
				t.Fatal("switched with a device left")
			}
			if next := f.push(t); next != nil {
				t.Fatalf("a push to a device that confirmed announces %+v", next)
			}
			f.svc.ConfirmPushKey(ctx, f.puller.ID, newKID, "")
			_, from, ok := f.ring.Pending()
			if !ok || !from.Equal(f.clock.Now().Add(2*time.Minute)) {
				t.Fatalf("after every device confirmed, the new key signs from %v (pending %v)", from, ok)
			}
			f.clock.Advance(2 * time.Minute)
			if kid, _ := f.ring.Active(); kid != newKID {
				t.Fatalf("after the switch delay %s signs", kid)
			}
			// A device enrolled now pins the new key.
			d := &core.Device{PushKeySeen: newKID}
			if kid, next := f.svc.PushKeyNotice(d); kid != newKID || next != nil {
				t.Fatalf("PushKeyNotice = %s, %+v", kid, next)
			}
		})
	}
}

// TestPushKeySwitchesAfterTheGrace: a device that never confirms holds the
// old key until PUSH_KEY_GRACE ends, not longer.
func TestPushKeySwitchesAfterTheGrace(t *testing.T) {
	ctx := context.Background()
	f := newPushKeyFixture(t, "sqlite")
	oldKID, newKID, _ := f.rotate(t, time.Hour)
	f.svc.ConfirmPushKey(ctx, f.phone.ID, newKID, "")
	f.svc.CheckPushKeySwitch(ctx)
	f.clock.Advance(time.Hour - time.Second)
	if kid, _ := f.ring.Active(); kid != oldKID {
		t.Fatal("the new key signs before the grace ends, with a device left")
	}
	f.clock.Advance(time.Second)
	if kid, _ := f.ring.Active(); kid != newKID {
		t.Fatalf("after the grace %s signs", kid)
	}
	// The device that never confirmed is still told, under the old key.
	if _, next := f.svc.PushKeyNotice(f.puller); next == nil || next.KID != newKID || next.SignedBy != oldKID {
		t.Fatalf("the late device is told %+v", next)
	}
}

// TestPushKeyAnnouncedOnDeviceFrames: a device that listens on its
// websocket (the web authenticator) learns the new push key from the
// approval frame, whose signed body carries next_key as a push's does,
// until it has confirmed the key.
func TestPushKeyAnnouncedOnDeviceFrames(t *testing.T) {
	ctx := context.Background()
	f := newPushKeyFixture(t, "sqlite")
	if err := f.sub.Subscribe(ctx, approval.DeviceTopic(f.puller.ID)); err != nil {
		t.Fatal(err)
	}
	frameNext := func() *signing.KeyStatement {
		t.Helper()
		f.svc.Deliver(ctx, f.start(t, f.user))
		var next *signing.KeyStatement
		for _, fr := range f.deviceFrames(t) {
			if fr.Type != approval.DeviceFrameApproval {
				continue
			}
			var p approval.PushRequest
			if err := json.Unmarshal([]byte(fr.Body), &p); err != nil {
				t.Fatal(err)
			}
			next = p.NextKey
		}
		return next
	}
	if next := frameNext(); next != nil {
		t.Fatalf("a frame before any rotation announces %+v", next)
	}
	oldKID, newKID, old := f.rotate(t, time.Hour)
	next := frameNext()
	if next == nil || next.KID != newKID || next.SignedBy != oldKID {
		t.Fatalf("the frame after the rotation announces %+v, want %s signed by %s", next, newKID, oldKID)
	}
	if _, err := next.Verify(old.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("the frame's statement does not verify under the old key: %v", err)
	}
	f.svc.ConfirmPushKey(ctx, f.puller.ID, newKID, "")
	if next := frameNext(); next != nil {
		t.Fatalf("a frame to a device that confirmed announces %+v", next)
	}
}
