package approval

import (
	"testing"
	"time"
)

func TestEventCarriesTheFrameBytesUnchangedAndTheTimeBesideThem(t *testing.T) {
	f := Frame{Type: "status", Status: "approved"}
	at := time.Unix(1764000000, 123456789)
	msg := encodeEnvelope(f, at)
	if want := "1764000000123456789 " + string(f.bytes()); string(msg) != want {
		t.Fatalf("broker message %q, want %q", msg, want)
	}
	ev, err := DecodeEnvelope(msg)
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.JSON) != `{"type":"status","status":"approved"}` || ev.Frame != f || !ev.PublishedAt.Equal(at) {
		t.Fatalf("decoded %q %+v %v", ev.JSON, ev.Frame, ev.PublishedAt)
	}
}

func TestDecodeEnvelopeReadsABareFrame(t *testing.T) {
	bare := []byte(`{"type":"fallback","channel":"sms","reason":"push_timeout"}`)
	ev, err := DecodeEnvelope(bare)
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.JSON) != string(bare) || ev.Frame.Reason != "push_timeout" || !ev.PublishedAt.IsZero() {
		t.Fatalf("decoded %q %+v %v", ev.JSON, ev.Frame, ev.PublishedAt)
	}
}

func TestDecodeEnvelopeRefusesWhatIsNotAFrame(t *testing.T) {
	for _, msg := range []string{"", "hello", "12x {}", `1 {"status":"approved"}`, "1764000000123456789 ", `{"type":`} {
		if ev, err := DecodeEnvelope([]byte(msg)); err == nil {
			t.Errorf("DecodeEnvelope(%q) = %+v, want an error", msg, ev)
		}
	}
}
