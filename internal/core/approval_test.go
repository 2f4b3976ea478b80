package core

import (
	"strings"
	"testing"
)

func TestCleanAppName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Grafana", "Grafana"},
		{"  Grafana — Ops  ", "Grafana — Ops"},
		{"Graf\x1b[2Jana", "Graf[2Jana"},           // an escape sequence loses its ESC
		{"Grafana\u202egnp.exe", "Grafanagnp.exe"}, // no bidi override
		{"Graf\u200bana\u00ad", "Grafana"},         // nor other format characters
		{"Line\nbreak\ttab\x00", "Linebreaktab"},
		{"bad\xffutf8", "badutf8"},
		{" \x07 ", ""},
		{strings.Repeat("é", 150), strings.Repeat("é", MaxAppName)}, // characters, not bytes
		{strings.Repeat("a", 99) + " b", strings.Repeat("a", 99)},   // no space left at the cut
	} {
		if got := CleanAppName(c.in); got != c.want {
			t.Errorf("CleanAppName(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}
