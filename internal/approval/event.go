package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Event is a frame as it travels on the broker:
//
//	<publish time, Unix nanoseconds> SP <frame JSON>
//
// The JSON is exactly the bytes browsers get; the time rides outside it,
// so every instance can measure publish → websocket write without a field
// that clients would see. A bare frame (no time) is read too.
type Event struct {
	Frame       Frame
	JSON        []byte    // the frame as written to websockets
	PublishedAt time.Time // zero when the message carried no time
}

var errNotEvent = errors.New("approval: broker message is not a frame")

// encodeEvent is the broker message of f published at at.
func encodeEvent(f Frame, at time.Time) []byte {
	b := strconv.AppendInt(make([]byte, 0, 96), at.UnixNano(), 10)
	b = append(b, ' ')
	return append(b, f.bytes()...)
}

// DecodeEvent reads a broker message of an approval channel.
func DecodeEvent(msg []byte) (Event, error) {
	var ev Event
	ev.JSON = msg
	if ts, rest, ok := bytes.Cut(msg, []byte{' '}); ok && len(ts) > 0 && ts[0] != '{' {
		ns, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			return Event{}, errNotEvent
		}
		ev.JSON, ev.PublishedAt = rest, time.Unix(0, ns)
	}
	if err := json.Unmarshal(ev.JSON, &ev.Frame); err != nil || ev.Frame.Type == "" {
		return Event{}, errNotEvent
	}
	return ev, nil
}
