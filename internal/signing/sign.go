package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/approvald/approvald/internal/core"
)

// Sign signs one request made now and returns its headers, with a fresh
// nonce. body is the exact bytes that will be sent (nil for a GET).
func Sign(priv ed25519.PrivateKey, method, pathWithQuery, deviceID string, body []byte, now time.Time) Headers {
	h := Headers{
		DeviceID:  deviceID,
		Timestamp: strconv.FormatInt(now.Unix(), 10),
		Nonce:     NewNonce(),
	}
	sig := ed25519.Sign(priv, Canonical(method, pathWithQuery, deviceID, h.Timestamp, h.Nonce, body))
	h.Signature = base64.RawURLEncoding.EncodeToString(sig)
	return h
}

// Verify checks that h signs this request under pub. It checks neither the
// clock (CheckTimestamp) nor nonce reuse (the caller's replay store); a
// receiver must do all three.
func Verify(pub ed25519.PublicKey, method, pathWithQuery string, h Headers, body []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		// ed25519.Verify panics on a wrong key length.
		e := core.Errorf(core.EInvalidSignature, "the request signature is not valid")
		e.Err = errors.New("public key is not 32 bytes")
		return e
	}
	if err := h.check(); err != nil {
		return err
	}
	sig, err := decodeSignature(h.Signature)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, Canonical(method, pathWithQuery, h.DeviceID, h.Timestamp, h.Nonce, body), sig) {
		return core.Errorf(core.EInvalidSignature, "the request signature is not valid")
	}
	return nil
}
