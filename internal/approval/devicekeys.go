package approval

import (
	"context"
	"sync"

	"github.com/approvald/approvald/internal/core"
)

// maxDeviceKeys bounds the cache: about 100 bytes an entry.
const maxDeviceKeys = 1 << 16

// deviceKeys remembers what never changes about a device, its user and its
// public key, so that a callback's signature is checked without a database
// read first. It never says whether the device still exists: a decision
// taken on a remembered key is written by an update that requires the
// device (core.DeviceDecision), so a removed device decides nothing. The
// zero value is ready to use.
type deviceKeys struct {
	mu   sync.RWMutex
	byID map[string]deviceKey
}

type deviceKey struct {
	userID    string
	publicKey []byte
}

func (k *deviceKeys) remember(devices ...*core.Device) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.byID == nil {
		k.byID = make(map[string]deviceKey)
	}
	for _, d := range devices {
		if _, ok := k.byID[d.ID]; ok {
			continue
		}
		if len(k.byID) >= maxDeviceKeys {
			for id := range k.byID { // any one: map order is random
				delete(k.byID, id)
				break
			}
		}
		k.byID[d.ID] = deviceKey{userID: d.UserID, publicKey: d.PublicKey}
	}
}

// lookup returns the remembered device (ID, UserID and PublicKey only).
func (k *deviceKeys) lookup(id string) (*core.Device, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.byID[id]
	if !ok {
		return nil, false
	}
	return &core.Device{ID: id, UserID: key.userID, PublicKey: key.publicKey}, true
}

// DeviceKeyLister lists devices' keys (ID, UserID and PublicKey), the
// newest first: the store does.
type DeviceKeyLister interface {
	DeviceKeys(ctx context.Context, limit int) ([]*core.Device, error)
}

// LoadDeviceKeys remembers the keys of the newest devices, as many as the
// cache holds, so that a callback to an instance that just started (or
// that never pushed to the device: another instance did) is checked
// without a database read on its path. A device enrolled later is read
// on its first callback, as before.
func (s *Service) LoadDeviceKeys(ctx context.Context, from DeviceKeyLister) error {
	devices, err := from.DeviceKeys(ctx, maxDeviceKeys)
	if err != nil {
		return err
	}
	s.keys.remember(devices...)
	return nil
}
