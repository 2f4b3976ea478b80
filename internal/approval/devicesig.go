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

// SignatureSkew is the contract's bound on a device's clock. NonceTTL
// follows from it: a nonce is remembered longer than the whole window of
// accepted timestamps, so a request replayed at its far edge is still
// caught (signing.NonceMargin says by how much, and why).
const (
	SignatureSkew = 300 * time.Second
	NonceTTL      = 2*SignatureSkew + signing.NonceMargin
)

var errBadSignature = core.Errorf(core.EInvalidSignature, "the request signature is not valid")

// AuthenticateDevice checks a device-signed request: well-formed headers, a
// fresh timestamp, a known device that is the one the request speaks for
// (wantDeviceID: the body's device_id or the path's {id}), a valid Ed25519
// signature, and a nonce not seen from that device within NonceTTL.
//
// The failure count and the nonce are settled in Redis, in one round trip,
// while the device is read and the signature checked: on the path from the
// phone's answer to the browser, every round trip counts. The nonce is
// spent only when the client is not locked, and a nonce spent by a request
// that then fails is given back, so only accepted requests use nonces up;
// guessing a device's next nonce (128 random bits or more) to spend it
// first is hopeless.
func (s *Service) AuthenticateDevice(ctx context.Context, r SignedRequest, wantDeviceID string) (*core.Device, error) {
	return s.authenticate(ctx, r, wantDeviceID, false)
}

// authenticate is AuthenticateDevice; with remembered, a device whose key is
// remembered (deviceKeys) is not read from the database: such a device may
// have been removed since, which the caller's guarded write must check.
func (s *Service) authenticate(ctx context.Context, r SignedRequest, wantDeviceID string, remembered bool) (dev *core.Device, err error) {
	// Failures are counted per claimed device and client IP: enough to stop
	// guessing, without letting a stranger lock a real device out. The
	// device id is the keys' hash tag, so on Redis Cluster a device's
	// failure count and nonces share a slot (one script settles both).
	failKey := "cbfail:{" + r.Header(signing.HeaderDeviceID) + "}:" + core.ClientFrom(ctx).LimitKey()
	now := s.Clock.Now()
	var (
		limit    core.LimitDecision
		limitErr error
		nonceKey string
		fresh    bool
	)
	h, err := s.checkHeaders(r, wantDeviceID)
	if err != nil {
		// A locked client hears so, even when its headers are wrong too.
		limit, limitErr = s.Limiter.Check(ctx, failKey, s.Config.CallbackFailures, s.Config.CallbackFailureWindow, now)
	} else {
		nonceKey = "nonce:{" + h.DeviceID + "}:" + h.Nonce
		// The signature is checked while Redis answers. This goroutine
		// sends the script at once; the check, started aside, runs as soon
		// as this one blocks on the answer, even with every P busy (the
		// other way round, the script waited for the check's CPU whenever
		// no other P was idle to take its goroutine).
		var verified sync.WaitGroup
		verified.Go(func() { dev, err = s.verifySignature(ctx, r, h, remembered) })
		limit, fresh, limitErr = s.Limiter.CheckAndClaim(ctx, failKey, s.Config.CallbackFailures, s.Config.CallbackFailureWindow, now, nonceKey, NonceTTL)
		verified.Wait()
	}
	switch {
	case limitErr != nil:
		err = limitErr
	case !limit.Allowed:
		err = core.RateLimited(limit.RetryAfter)
	case err == nil && !fresh:
		return nil, s.countFailure(ctx, failKey, now, errBadSignature)
	}
	if err == nil {
		return dev, nil
	}
	if fresh {
		if derr := s.KV.Del(ctx, nonceKey); derr != nil {
			s.Log.WarnContext(ctx, "nonce of a refused request not given back", "err", derr)
		}
	}
	return nil, s.countFailure(ctx, failKey, now, err)
}

// countFailure counts a refused signature against the failure limit and
// returns err (or the limiter's own error).
func (s *Service) countFailure(ctx context.Context, failKey string, now time.Time, err error) error {
	if !core.IsCode(err, core.EInvalidSignature) {
		return err
	}
	if _, herr := s.Limiter.Hit(ctx, failKey, s.Config.CallbackFailures, s.Config.CallbackFailureWindow, now); herr != nil {
		return herr
	}
	return err
}

// checkHeaders checks what needs no lookup: well-formed headers, a fresh
// timestamp, and the device the request speaks for.
func (s *Service) checkHeaders(r SignedRequest, wantDeviceID string) (signing.Headers, error) {
	h, err := signing.ParseHeaders(r.Header)
	if err != nil {
		return h, errBadSignature
	}
	if err := signing.CheckTimestamp(h.Timestamp, s.Clock.Now(), SignatureSkew); err != nil {
		return h, errBadSignature
	}
	if h.DeviceID == "" || h.DeviceID != wantDeviceID || !core.HasPrefix(h.DeviceID, core.PrefixDevice) {
		return h, errBadSignature
	}
	return h, nil
}

// verifySignature finds the device (remembered, when allowed and known;
// else from the database) and checks its signature.
func (s *Service) verifySignature(ctx context.Context, r SignedRequest, h signing.Headers, remembered bool) (*core.Device, error) {
	var (
		dev   *core.Device
		known bool
	)
	if remembered {
		dev, known = s.keys.lookup(h.DeviceID)
	}
	if !known {
		var err error
		dev, err = s.Devices.Device(ctx, h.DeviceID)
		if core.IsCode(err, core.ENotFound) {
			return nil, errBadSignature
		}
		if err != nil {
			return nil, err
		}
		s.keys.remember(dev)
	}
	if err := signing.Verify(ed25519.PublicKey(dev.PublicKey), r.Method, r.PathWithQuery, h, r.Body); err != nil {
		return nil, errBadSignature
	}
	return dev, nil
}
