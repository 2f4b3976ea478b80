package signing

import (
	"time"

	"github.com/approvald/approvald/internal/core"
)

// MaxSkew is how far a request's timestamp may be from the receiver's clock.
const MaxSkew = 300 * time.Second

// NonceTTL is how long a receiver remembers a nonce: twice MaxSkew, so a
// request is either remembered or already outside the window.
const NonceTTL = 2 * MaxSkew

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
