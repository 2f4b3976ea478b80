package approval

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

// PushKeys are the server's push keys as devices see them (keyring.Ring of
// core.KeyPush).
type PushKeys interface {
	// NewestKID is the key devices are to pin.
	NewestKID() string
	// Pending names the newest key while it does not sign yet.
	Pending() (kid string, from time.Time, ok bool)
	// Announcement is the newest key stated by the one before it, for a
	// device that last confirmed seenKID; nil when there is nothing to learn.
	Announcement(seenKID string) *signing.KeyStatement
	// ActivateEarly makes the pending key sign from at.
	ActivateEarly(ctx context.Context, at time.Time) (bool, error)
	// Active is the key that signs now, and its kid.
	Active() (kid string, key ed25519.PrivateKey)
}

// deviceSigningKey is the push key that signs now: the ring's when the
// service has one (it follows a rotation), else the key it was given.
func (s *Service) deviceSigningKey() (string, ed25519.PrivateKey) {
	if s.PushKeys != nil {
		return s.PushKeys.Active()
	}
	return "", s.ServerKey
}

// PushKeyNotice is what a device's pull answer says of the push keys: the
// key devices are to pin, and, for a device that has not confirmed it, the
// statement that announces it, signed by the key before.
func (s *Service) PushKeyNotice(dev *core.Device) (kid string, next *signing.KeyStatement) {
	if s.PushKeys == nil {
		return "", nil
	}
	return s.PushKeys.NewestKID(), s.PushKeys.Announcement(dev.PushKeySeen)
}

// ConfirmPushKey records that the authenticated device deviceID pins the
// push key kid (its request's push_kid); only the newest key is recorded.
// known is what the device last confirmed when the caller read it, "?" when
// unknown. When that was the last device, the new key starts to sign.
func (s *Service) ConfirmPushKey(ctx context.Context, deviceID, kid, known string) {
	if s.PushKeys == nil || kid == "" || kid == known || kid != s.PushKeys.NewestKID() {
		return
	}
	if known == "?" {
		// Only a rotation under way needs the record (a callback's device
		// is not read: this spares its path a write).
		if _, _, pending := s.PushKeys.Pending(); !pending {
			return
		}
	}
	changed, err := s.Devices.SetPushKeySeen(ctx, deviceID, kid)
	if err != nil {
		s.Log.WarnContext(ctx, "push key confirmation not recorded", "device_id", deviceID, "err", err)
		return
	}
	if changed {
		s.CheckPushKeySwitch(ctx)
	}
}

// CheckPushKeySwitch starts the pending push key early when every device has
// confirmed it: it signs after Config.PushKeySwitchDelay, when every
// instance has reloaded its keys.
func (s *Service) CheckPushKeySwitch(ctx context.Context) {
	if s.PushKeys == nil {
		return
	}
	kid, _, pending := s.PushKeys.Pending()
	if !pending {
		return
	}
	n, err := s.Devices.CountDevicesNotOnPushKey(ctx, kid)
	if err != nil {
		s.Log.WarnContext(ctx, "push key switch not checked", "err", err)
		return
	}
	if n > 0 {
		return
	}
	at := s.Clock.Now().Add(s.Config.PushKeySwitchDelay)
	switched, err := s.PushKeys.ActivateEarly(ctx, at)
	if err != nil {
		s.Log.WarnContext(ctx, "push key not switched", "kid", kid, "err", err)
		return
	}
	if switched {
		s.Log.InfoContext(ctx, "every device confirmed the new push key: it signs soon", "kid", kid, "from", at)
	}
}
