package signing

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/approvald/approvald/internal/core"
)

// The signature headers of the contract.
const (
	HeaderDeviceID  = "X-Device-Id" // device → server only
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
	HeaderSignature = "X-Signature"
)

// Bounds of the nonce, in decoded bytes. The upper one keeps the replay
// store's keys small; the contract only fixes the lower one.
const (
	MinNonceBytes = 16
	MaxNonceBytes = 64
)

// MaxDeviceIDLength bounds X-Device-Id before any lookup (ours are 30).
const MaxDeviceIDLength = 128

// signatureB64Max is the longest encoding of a 64-byte signature (padded).
const signatureB64Max = 88

// Headers are the signature headers of one request, as sent on the wire.
type Headers struct {
	DeviceID  string // "" on server → device requests
	Timestamp string // decimal Unix seconds
	Nonce     string // base64url, at least MinNonceBytes bytes
	Signature string // base64url of the 64-byte Ed25519 signature
}

// Apply sets h on an outgoing request's header; X-Device-Id only when set.
func (h Headers) Apply(header http.Header) {
	if h.DeviceID != "" {
		header.Set(HeaderDeviceID, h.DeviceID)
	} else {
		header.Del(HeaderDeviceID)
	}
	header.Set(HeaderTimestamp, h.Timestamp)
	header.Set(HeaderNonce, h.Nonce)
	header.Set(HeaderSignature, h.Signature)
}

// ParseHeaders reads and strictly checks the signature headers through get
// (http.Header.Get, fiber.Ctx.Get, …). It checks form only; Verify checks
// the signature and CheckTimestamp the clock.
func ParseHeaders(get func(name string) string) (Headers, error) {
	h := Headers{
		DeviceID:  get(HeaderDeviceID),
		Timestamp: get(HeaderTimestamp),
		Nonce:     get(HeaderNonce),
		Signature: get(HeaderSignature),
	}
	if err := h.check(); err != nil {
		return Headers{}, err
	}
	return h, nil
}

// check validates the form of every header. Fields that end up in the
// canonical string must not contain its separator, or two different
// requests could share one canonical string.
func (h Headers) check() error {
	if len(h.DeviceID) > MaxDeviceIDLength || !isVisibleASCII(h.DeviceID) {
		return malformed(HeaderDeviceID)
	}
	if _, err := parseTimestamp(h.Timestamp); err != nil {
		return malformed(HeaderTimestamp)
	}
	if !isBase64URL(h.Nonce) {
		return malformed(HeaderNonce)
	}
	nonce, err := DecodeB64(h.Nonce)
	if err != nil || len(nonce) < MinNonceBytes || len(nonce) > MaxNonceBytes {
		return malformed(HeaderNonce)
	}
	if _, err := decodeSignature(h.Signature); err != nil {
		return err
	}
	return nil
}

// NewNonce returns 16 random bytes as unpadded base64url.
func NewNonce() string {
	b := make([]byte, MinNonceBytes)
	// crypto/rand.Read never fails on the platforms we support.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeB64 reads base64url with or without padding. It is strict: no
// standard-alphabet characters, no whitespace, no non-zero trailing bits.
func DecodeB64(s string) ([]byte, error) {
	if !isBase64URL(s) {
		return nil, errors.New("not base64url")
	}
	if strings.HasSuffix(s, "=") {
		return base64.URLEncoding.Strict().DecodeString(s)
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// isBase64URL reports whether s holds only the base64url alphabet and '='.
// Go's decoder skips '\r' and '\n', which must not pass here.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '=':
		default:
			return false
		}
	}
	return true
}

func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// parseTimestamp accepts only the canonical decimal form of a non-negative
// Unix time: no sign, no leading zeros, no spaces.
func parseTimestamp(ts string) (int64, error) {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != ts {
		return 0, errors.New("not decimal Unix seconds")
	}
	return n, nil
}

func decodeSignature(s string) ([]byte, error) {
	if len(s) > signatureB64Max {
		return nil, malformed(HeaderSignature)
	}
	sig, err := DecodeB64(s)
	if err != nil || len(sig) != 64 {
		return nil, malformed(HeaderSignature)
	}
	return sig, nil
}

// malformed names the header in the cause (for logs), never its value.
func malformed(header string) *core.Error {
	e := core.Errorf(core.EInvalidSignature, "the request signature headers are malformed")
	e.Err = errors.New("malformed " + header)
	return e
}
