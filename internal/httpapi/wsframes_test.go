package httpapi

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"
)

// frameLog records what wsFrames reports.
type frameLog []string

func (l *frameLog) pong()                { *l = append(*l, "pong") }
func (l *frameLog) ping(p []byte)        { *l = append(*l, "ping "+string(p)) }
func (l *frameLog) closed(code int)      { *l = append(*l, fmt.Sprint("closed ", code)) }
func (l *frameLog) fail(c int, t string) { *l = append(*l, fmt.Sprintf("fail %d %q", c, t)) }

// clientFrame is a frame as a browser sends it (masked), or unmasked.
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

// Each case's bytes, fed at once and split at every byte, give what the
// websocket library's reader answered (its close codes and texts, checked
// against fasthttp/websocket's conn.go): a browser cannot tell the two
// apart.
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
		{"close with a reserved code", clientFrame(fin|closeOp, closePayload(1005), true), []string{`fail 1002 "bad close code 1005"`}, true},
		{"close with bad UTF-8", clientFrame(fin|closeOp, append(closePayload(1000), 0xff), true), []string{`fail 1002 "invalid utf8 payload in close frame"`}, true},
		{"unmasked", clientFrame(fin|pong, nil, false), []string{`fail 1002 "bad MASK"`}, true},
		{"RSV1", clientFrame(fin|0x40|text, nil, true), []string{`fail 1002 "RSV1 set"`}, true},
		{"bad opcode", clientFrame(fin|0x3, nil, true), []string{`fail 1002 "bad opcode 3"`}, true},
		{"long control", clientFrame(fin|ping, make([]byte, 126), true), []string{`fail 1002 "len > 125 for control"`}, true},
		{"control not final", clientFrame(ping, nil, true), []string{`fail 1002 "FIN not set on control"`}, true},
		{"faults together", clientFrame(0x20|ping, nil, false), []string{`fail 1002 "RSV2 set, FIN not set on control, bad MASK"`}, true},
		{"continuation after FIN", clientFrame(fin|cont, nil, true), []string{`fail 1002 "continuation after FIN"`}, true},
		{"data before FIN", append(clientFrame(text, []byte("a"), true), clientFrame(fin|text, []byte("b"), true)...), []string{`fail 1002 "data before FIN"`}, true},
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
	b := append(clientFrame(0x80|websocket.PingMessage, []byte("abc"), true), clientFrame(0x80|websocket.PongMessage, nil, true)...)
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
