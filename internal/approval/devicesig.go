package approval

import (
	"context"
	"crypto/ed25519"
	"sync"
	"time"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/signing"
)

// SignedRequest is what the HTTP layer hands over of a device-signed request.
type SignedRequest struct {
	Method        string
	PathWithQuery string
	Header        func(name string) string
	Body          []byte
}

// SignatureSkew and NonceTTL are the contract's replay bounds.
const (
	SignatureSkew = 300 * time.Second
	NonceTTL      = 600 * time.Second
)

var errBadSignature = core.Errorf(core.EInvalidSignature, "the request signature is not valid")

// AuthenticateDevice checks a device-signed request: well-formed headers, a
// fresh timestamp, a known device that is the one the request speaks for
// (wantDeviceID: the body's device_id or the path's {id}), a valid Ed25519
// signature, and a nonce not seen from that device in the last 10 minutes.
// The nonce is recorded only after the signature holds, so nobody can burn
// a device's nonces.
func (s *Service) AuthenticateDevice(ctx context.Context, r SignedRequest, wantDeviceID string) (*core.Device, error) {
	// Failures are counted per claimed device and client IP: enough to stop
	// guessing, without letting a stranger lock a real device out. The
	// count is read while the device is looked up and the signature
	// checked (neither has an effect), so it costs no round trip of its own.
	failKey := "cbfail:" + r.Header(signing.HeaderDeviceID) + ":" + core.ClientFrom(ctx).IP
	now := s.Clock.Now()
	var (
		limit    core.Decision
		limitErr error
		checked  sync.WaitGroup
	)
	checked.Go(func() {
		limit, limitErr = s.Limiter.Check(ctx, failKey, s.Config.CallbackFailures, s.Config.CallbackFailureWindow, now)
	})
	dev, nonce, err := s.verifySignature(ctx, r, wantDeviceID)
	checked.Wait()
	switch {
	case limitErr != nil:
		return nil, limitErr
	case !limit.Allowed:
		return nil, core.RateLimited(limit.RetryAfter)
	case err == nil:
		err = s.spendNonce(ctx, dev.ID, nonce)
	}
	if core.IsCode(err, core.EInvalidSignature) {
		if _, herr := s.Limiter.Hit(ctx, failKey, s.Config.CallbackFailures, s.Config.CallbackFailureWindow, now); herr != nil {
			return nil, herr
		}
	}
	if err != nil {
		return nil, err
	}
	return dev, nil
}

// verifySignature checks everything of a signed request but its nonce,
// which it returns.
func (s *Service) verifySignature(ctx context.Context, r SignedRequest, wantDeviceID string) (*core.Device, string, error) {
	h, err := signing.ParseHeaders(r.Header)
	if err != nil {
		return nil, "", errBadSignature
	}
	if err := signing.CheckTimestamp(h.Timestamp, s.Clock.Now(), SignatureSkew); err != nil {
		return nil, "", errBadSignature
	}
	if h.DeviceID == "" || h.DeviceID != wantDeviceID || !core.HasPrefix(h.DeviceID, core.PrefixDevice) {
		return nil, "", errBadSignature
	}
	dev, err := s.Devices.Device(ctx, h.DeviceID)
	if core.IsCode(err, core.ENotFound) {
		return nil, "", errBadSignature
	}
	if err != nil {
		return nil, "", err
	}
	if err := signing.Verify(ed25519.PublicKey(dev.PublicKey), r.Method, r.PathWithQuery, h, r.Body); err != nil {
		return nil, "", errBadSignature
	}
	return dev, h.Nonce, nil
}

// spendNonce records a device's nonce; a nonce seen before is a replay.
func (s *Service) spendNonce(ctx context.Context, deviceID, nonce string) error {
	fresh, err := s.KV.SetNX(ctx, "nonce:"+deviceID+":"+nonce, "1", NonceTTL)
	if err != nil {
		return err
	}
	if !fresh {
		return errBadSignature
	}
	return nil
}
