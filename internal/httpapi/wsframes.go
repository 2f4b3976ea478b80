package httpapi

import (
	"bytes"
	"io"

	"github.com/gobwas/ws"
)

// wsFrames reads a browser's frames from whatever bytes have arrived, so
// that a waiting websocket needs no goroutine parked in a read. gobwas/ws
// does the protocol: it reads each header (ws.ReadHeader), checks it
// (ws.CheckHeader, server side), unmasks (ws.Cipher) and parses and checks
// close bodies (ws.ParseCloseFrameData, ws.CheckCloseFrameData); its error
// texts are the protocol errors' close texts. Ours is only what the
// library leaves to its caller: the state across reads (the bytes of a
// header or control frame split between two reads, whether a message is
// open), the read limit (1009) and skipping data payloads, which browsers
// never send. Nothing is buffered unless a frame's header or a control
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
	closed(code ws.StatusCode)
	fail(code ws.StatusCode, text string)
}

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
	r := bytes.NewReader(b)
	hd, err := ws.ReadHeader(r)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF: // a short read: wait for more
		return 0, true
	case err != nil: // a 64-bit length with its top bit set
		h.fail(ws.StatusProtocolError, err.Error())
		return 0, false
	}
	n := len(b) - r.Len()

	state := ws.StateServerSide
	if f.inMsg {
		state = state.Set(ws.StateFragmented)
	}
	if err := ws.CheckHeader(hd, state); err != nil {
		h.fail(ws.StatusProtocolError, err.Error())
		return 0, false
	}

	if !hd.OpCode.IsControl() {
		// Ours: the library reads no payload here, so the read limit
		// (counted per message, across its frames) and the skip are ours.
		if hd.OpCode != ws.OpContinuation {
			f.msgLen = 0
		}
		f.msgLen += hd.Length
		if f.msgLen < 0 || f.msgLen > wsReadLimit {
			h.fail(ws.StatusMessageTooBig, "")
			return 0, false
		}
		f.inMsg = !hd.Fin
		f.skip = hd.Length
		return n, true
	}

	if int64(len(b)-n) < hd.Length {
		return 0, true
	}
	var buf [ws.MaxControlFramePayloadSize]byte
	payload := buf[:copy(buf[:hd.Length], b[n:])]
	ws.Cipher(payload, hd.Mask, 0)
	n += len(payload)
	switch hd.OpCode {
	case ws.OpPong:
		h.pong()
	case ws.OpPing:
		h.ping(payload)
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(payload)
		if code.Empty() {
			// No code: RFC 6455 7.1.5 calls it 1005 (the library leaves
			// that to its caller; wsutil's handler does the same).
			h.closed(ws.StatusNoStatusRcvd)
			return 0, false
		}
		if err := ws.CheckCloseFrameData(code, reason); err != nil {
			h.fail(ws.StatusProtocolError, err.Error())
			return 0, false
		}
		h.closed(code)
		return 0, false
	}
	return n, true
}
