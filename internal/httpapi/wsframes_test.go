package httpapi

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// frameLog records what wsFrames reports.
type frameLog []string

func (l *frameLog) pong()                          { *l = append(*l, "pong") }
func (l *frameLog) ping(p []byte)                  { *l = append(*l, "ping "+string(p)) }
func (l *frameLog) closed(code ws.StatusCode)      { *l = append(*l, fmt.Sprint("closed ", code)) }
func (l *frameLog) fail(c ws.StatusCode, t string) { *l = append(*l, fmt.Sprintf("fail %d %q", c, t)) }

// clientFrame is a frame as a browser sends it (masked), or unmasked;
// encoded here, not with the library whose reading is under test.
func clientFrame(b0 byte, payload []byte, masked bool) []byte {
	f := []byte{b0}
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f = append(f, mask|byte(n))
	case n < 1<<16:
		f = append(f, mask|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, mask|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key...)
	for i, b := range payload {
		f = append(f, b^key[i&3])
	}
	return f
}

func closePayload(code int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(code)) }

// Each case's bytes, fed at once and split at every byte, give gobwas/ws's
// answer: its checks, in its order (the first fault found), its error
// texts as the close texts (check.go, read.go); the read limit is ours.
// Where fasthttp/websocket's reader (which served these websockets before)
// answered otherwise, the case says what it answered.
func TestWSFramesAnswerAsTheLibrary(t *testing.T) {
	const fin, text, cont, closeOp, ping, pong = 0x80, 0x1, 0x0, 0x8, 0x9, 0xa
	cases := []struct {
		name  string
		bytes []byte
		want  []string
		ends  bool
	}{
		{"pong", clientFrame(fin|pong, nil, true), []string{"pong"}, false},
		{"ping with a payload", clientFrame(fin|ping, []byte("hi"), true), []string{"ping hi"}, false},
		{"text skipped, then a pong", append(clientFrame(fin|text, []byte(strings.Repeat("x", 300)), true), clientFrame(fin|pong, []byte("p"), true)...), []string{"pong"}, false},
		{"a message of exactly the limit", clientFrame(fin|text, make([]byte, wsReadLimit), true), nil, false},
		{"a message over the limit", clientFrame(fin|text, make([]byte, wsReadLimit+1), true), []string{`fail 1009 ""`}, true},
		{"over the limit across frames", append(clientFrame(text, make([]byte, 3<<10), true), clientFrame(fin|cont, make([]byte, 2<<10), true)...), []string{`fail 1009 ""`}, true},
		{"the limit counts per message", append(clientFrame(fin|text, make([]byte, 3<<10), true), clientFrame(fin|text, make([]byte, 3<<10), true)...), nil, false},
		{"close with a code", clientFrame(fin|closeOp, append(closePayload(4000), "bye"...), true), []string{"closed 4000"}, true},
		{"close without a code", clientFrame(fin|closeOp, nil, true), []string{"closed 1005"}, true},
		{"close with a code of one byte", clientFrame(fin|closeOp, []byte{3}, true), []string{"closed 1005"}, true},
		// Texts: fasthttp/websocket said "bad close code 1005", "invalid
		// utf8 payload in close frame", "bad MASK", "RSV1 set", "bad opcode
		// 3", "len > 125 for control", "FIN not set on control",
		// "continuation after FIN", "data before FIN", and listed every
		// fault of a header ("RSV2 set, FIN not set on control, bad MASK").
		{"close with a reserved code", clientFrame(fin|closeOp, closePayload(1005), true), []string{`fail 1002 "status code is only application level"`}, true},
		{"close with an unused code", clientFrame(fin|closeOp, closePayload(999), true), []string{`fail 1002 "status code is not in use"`}, true},
		{"close with 1004", clientFrame(fin|closeOp, closePayload(1004), true), []string{`fail 1002 "status code has no meaning yet"`}, true},
		{"close with bad UTF-8", clientFrame(fin|closeOp, append(closePayload(1000), 0xff), true), []string{`fail 1002 "invalid utf8 sequence in close reason"`}, true},
		{"unmasked", clientFrame(fin|pong, nil, false), []string{`fail 1002 "frames from client to server must be masked"`}, true},
		{"RSV1", clientFrame(fin|0x40|text, nil, true), []string{`fail 1002 "non-zero rsv bits with no extension negotiated"`}, true},
		{"bad opcode", clientFrame(fin|0x3, nil, true), []string{`fail 1002 "use of reserved op code"`}, true},
		{"long control", clientFrame(fin|ping, make([]byte, 126), true), []string{`fail 1002 "control frame payload limit exceeded"`}, true},
		{"control not final", clientFrame(ping, nil, true), []string{`fail 1002 "control frame is not final"`}, true},
		{"faults together: the first", clientFrame(0x20|ping, nil, false), []string{`fail 1002 "control frame is not final"`}, true},
		{"continuation after FIN", clientFrame(fin|cont, nil, true), []string{`fail 1002 "unexpected continuation data frame"`}, true},
		{"data before FIN", append(clientFrame(text, []byte("a"), true), clientFrame(fin|text, []byte("b"), true)...), []string{`fail 1002 "unexpected non-continuation data frame"`}, true},
		// Where the library's checks differ from fasthttp/websocket's: it
		// refuses 1012 and 1013, which fasthttp/websocket took; it takes
		// codes from 5000, which fasthttp/websocket refused ("bad close
		// code 5000"); a 64-bit length with its top bit set is a header
		// error, where fasthttp/websocket's length went negative and failed
		// the read limit (the reader here closed with 1009).
		{"close with 1012", clientFrame(fin|closeOp, closePayload(1012), true), []string{`fail 1002 "status code is not defined in spec"`}, true},
		{"close with 5000", clientFrame(fin|closeOp, closePayload(5000), true), []string{"closed 5000"}, true},
		{"a length with its top bit set", []byte{fin | text, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, []string{`fail 1002 "header error: the most significant bit must be 0"`}, true},
		{"a control frame within a message", append(append(clientFrame(text, []byte("a"), true), clientFrame(fin|pong, nil, true)...), clientFrame(fin|cont, []byte("b"), true)...), []string{"pong"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for split := 0; split <= len(c.bytes); split++ {
				var f wsFrames
				var got frameLog
				ok := f.feed(c.bytes[:split], &got)
				if ok {
					ok = f.feed(c.bytes[split:], &got)
				}
				if !reflect.DeepEqual([]string(got), c.want) || ok == c.ends {
					t.Fatalf("split at %d: got %q, going on %v; want %q, ending %v", split, got, ok, c.want, c.ends)
				}
				if ok && (f.partial != nil || f.skip != 0) {
					t.Fatalf("split at %d: %d bytes kept, %d to skip after whole frames", split, len(f.partial), f.skip)
				}
			}
		})
	}
}

// Byte by byte, as a slow network would deliver them.
func TestWSFramesByteByByte(t *testing.T) {
	b := append(clientFrame(0x80|byte(ws.OpPing), []byte("abc"), true), clientFrame(0x80|byte(ws.OpPong), nil, true)...)
	var f wsFrames
	var got frameLog
	for i := range b {
		if !f.feed(b[i:i+1], &got) {
			t.Fatalf("ended at byte %d", i)
		}
	}
	if want := []string{"ping abc", "pong"}; !reflect.DeepEqual([]string(got), want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
