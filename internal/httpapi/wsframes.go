package httpapi

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

// wsFrames reads a browser's frames from whatever bytes have arrived, so
// that a waiting websocket needs no goroutine parked in a read (the
// websocket library's reader blocks until a whole data message arrives).
// It checks what the library's reader checks, with the same close codes
// and texts: a browser cannot tell the two apart. Data messages are only
// counted against the read limit and skipped: browsers send nothing but
// control frames. Nothing is buffered unless a frame's header or a control
// frame's payload is split between two reads.
type wsFrames struct {
	partial []byte // the start of a frame's header or control frame, when split
	skip    int64  // payload bytes of a data frame still to skip
	msgLen  int64  // bytes of the current data message
	inMsg   bool   // a data message was started without its final frame
}

// wsFrameHandler is told what the frames say. fail closes with code and
// text (a protocol error, a message over the limit); closed is the
// browser's close with its code. Both end the reading.
type wsFrameHandler interface {
	pong()
	ping(payload []byte)
	closed(code int)
	fail(code int, text string)
}

// maxControlPayload is RFC 6455's bound on a control frame's payload.
const maxControlPayload = 125

// feed reads p; false when the frames ended the connection (h was told).
func (f *wsFrames) feed(p []byte, h wsFrameHandler) bool {
	data := p
	if len(f.partial) > 0 {
		data = append(f.partial, p...)
	}
	for len(data) > 0 {
		if f.skip > 0 {
			k := min(f.skip, int64(len(data)))
			f.skip -= k
			data = data[k:]
			continue
		}
		n, ok := f.frame(data, h)
		if !ok {
			f.partial = nil
			return false
		}
		if n == 0 { // the rest of the frame has not arrived yet
			break
		}
		data = data[n:]
	}
	if len(data) == 0 {
		f.partial = nil
	} else {
		// At most a header and a control payload (139 bytes): a data
		// frame's payload is skipped as soon as its header is read.
		f.partial = append([]byte(nil), data...)
	}
	return true
}

// frame handles the frame at the start of b: the bytes it took (0 when b
// does not hold all of its header, or of its payload for a control frame),
// false when the connection ends.
func (f *wsFrames) frame(b []byte, h wsFrameHandler) (int, bool) {
	if len(b) < 2 {
		return 0, true
	}
	final := b[0]&0x80 != 0
	op := int(b[0] & 0x0f)
	masked := b[1]&0x80 != 0
	length := int64(b[1] & 0x7f)

	// As the library reports them: every fault of the first two bytes, in
	// its order and words.
	var faults []string
	if b[0]&0x40 != 0 { // no compression is negotiated
		faults = append(faults, "RSV1 set")
	}
	if b[0]&0x20 != 0 {
		faults = append(faults, "RSV2 set")
	}
	if b[0]&0x10 != 0 {
		faults = append(faults, "RSV3 set")
	}
	control := false
	switch op {
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
		control = true
		if length > maxControlPayload {
			faults = append(faults, "len > 125 for control")
		}
		if !final {
			faults = append(faults, "FIN not set on control")
		}
	case websocket.TextMessage, websocket.BinaryMessage:
		if f.inMsg {
			faults = append(faults, "data before FIN")
		}
	case 0: // continuation
		if !f.inMsg {
			faults = append(faults, "continuation after FIN")
		}
	default:
		faults = append(faults, "bad opcode "+strconv.Itoa(op))
	}
	if !masked {
		faults = append(faults, "bad MASK")
	}
	if len(faults) > 0 {
		h.fail(websocket.CloseProtocolError, strings.Join(faults, ", "))
		return 0, false
	}

	n := 2
	switch length {
	case 126:
		if len(b) < 4 {
			return 0, true
		}
		length, n = int64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, true
		}
		length, n = int64(binary.BigEndian.Uint64(b[2:])), 10
	}
	if len(b) < n+4 {
		return 0, true
	}
	key := b[n : n+4]
	n += 4

	if !control {
		if op != 0 {
			f.msgLen = 0
		}
		f.msgLen += length
		if length < 0 || f.msgLen < 0 || f.msgLen > wsReadLimit {
			h.fail(websocket.CloseMessageTooBig, "")
			return 0, false
		}
		f.inMsg = !final
		f.skip = length
		return n, true
	}

	if int64(len(b)-n) < length {
		return 0, true
	}
	var buf [maxControlPayload]byte
	payload := buf[:length]
	for i := range payload {
		payload[i] = b[n+i] ^ key[i&3]
	}
	n += int(length)
	switch op {
	case websocket.PongMessage:
		h.pong()
	case websocket.PingMessage:
		h.ping(payload)
	case websocket.CloseMessage:
		code := websocket.CloseNoStatusReceived
		if len(payload) >= 2 {
			code = int(binary.BigEndian.Uint16(payload))
			if !validCloseCode(code) {
				h.fail(websocket.CloseProtocolError, "bad close code "+strconv.Itoa(code))
				return 0, false
			}
			if !utf8.Valid(payload[2:]) {
				h.fail(websocket.CloseProtocolError, "invalid utf8 payload in close frame")
				return 0, false
			}
		}
		h.closed(code)
		return 0, false
	}
	return n, true
}

// validCloseCode: the codes a peer may send (the library's list).
func validCloseCode(code int) bool {
	switch code {
	case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseProtocolError,
		websocket.CloseUnsupportedData, websocket.CloseInvalidFramePayloadData,
		websocket.ClosePolicyViolation, websocket.CloseMessageTooBig, websocket.CloseMandatoryExtension,
		websocket.CloseInternalServerErr, websocket.CloseServiceRestart, websocket.CloseTryAgainLater:
		return true
	}
	return code >= 3000 && code <= 4999
}
