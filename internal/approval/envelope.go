package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Envelope is a frame as it travels on the broker:
//
//	<publish time, Unix nanoseconds> SP <frame JSON>
//
// The JSON is exactly the bytes browsers get; the time rides outside it,
// so every instance can measure publish → websocket write without a field
// that clients would see. A bare frame (no time) is read too.
type Envelope struct {
	Frame       Frame
	JSON        []byte    // the frame as written to websockets
	PublishedAt time.Time // zero when the message carried no time
}

var errNotEnvelope = errors.New("approval: broker message is not a frame")

// encodeEnvelope is the broker message of f published at at.
func encodeEnvelope(f Frame, at time.Time) []byte {
	b := strconv.AppendInt(make([]byte, 0, 96), at.UnixNano(), 10)
	b = append(b, ' ')
	return append(b, f.bytes()...)
}

// DecodeEnvelope reads a broker message of an approval channel.
func DecodeEnvelope(msg []byte) (Envelope, error) {
	var ev Envelope
	ev.JSON = msg
	if ts, rest, ok := bytes.Cut(msg, []byte{' '}); ok && len(ts) > 0 && ts[0] != '{' {
		ns, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			return Envelope{}, errNotEnvelope
		}
		ev.JSON, ev.PublishedAt = rest, time.Unix(0, ns)
	}
	if err := json.Unmarshal(ev.JSON, &ev.Frame); err != nil || ev.Frame.Type == "" {
		return Envelope{}, errNotEnvelope
	}
	return ev, nil
}
