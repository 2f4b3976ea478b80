package signing

import (
	"time"

	"github.com/approvald/approvald/internal/core"
)

// MaxSkew is how far a request's timestamp may be from the receiver's clock.
const MaxSkew = 300 * time.Second

// NonceMargin is how much longer than the window of accepted timestamps
// (2 × skew) a nonce is remembered. Exactly 2 × skew is not enough: the
// window's edges are whole seconds, so a request is accepted for up to
// 2 × skew + 1 s; and the clock that forgets a nonce (Redis's) is not the
// one that checks timestamps (each instance's), which may be a little
// behind. A replay must find its nonce still remembered at the far edge.
const NonceMargin = time.Minute

// NonceTTL is how long a receiver accepting MaxSkew remembers a nonce: so
// long that a request is either remembered or outside the window.
const NonceTTL = 2*MaxSkew + NonceMargin

// CheckTimestamp accepts ts when it is within skew of now, either side
// (exactly skew away is still accepted).
func CheckTimestamp(ts string, now time.Time, skew time.Duration) error {
	sec, err := parseTimestamp(ts)
	if err != nil {
		return malformed(HeaderTimestamp)
	}
	// Compare whole seconds (the header's resolution); sec >= 0, so the
	// difference cannot overflow however far off ts is.
	diff := now.Unix() - sec
	if diff < 0 {
		diff = -diff
	}
	if diff > int64(skew/time.Second) {
		return core.Errorf(core.EInvalidSignature, "the request timestamp is outside the allowed window")
	}
	return nil
}
