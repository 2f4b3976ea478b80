package phone

import (
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ raw, cc, want string }{
		{"+14155550100", "", "+14155550100"},
		{"+1 (415) 555-0100", "", "+14155550100"},
		{" +1-415-555-0100 ", "", "+14155550100"},
		{"+1.415.555.0100", "", "+14155550100"},
		{"4155550100", "1", "+14155550100"},
		{"(415) 555-0100", "+1", "+14155550100"},
		{"+16135550123", "", "+16135550123"}, // Canada shares +1
		{"6135550123", "1", "+16135550123"},
		{"+8613800138000", "", "+8613800138000"},
		{"13800138000", "86", "+8613800138000"},
		{"138 0013 8000", "+86", "+8613800138000"},
		{"+8613800138000", "44", "+8613800138000"}, // an international number ignores country_code
		{"+447911123456", "", "+447911123456"},
		{"07911 123456", "44", "+447911123456"}, // UK trunk 0 dropped
		{"+442079460958", "", "+442079460958"},
		{"+4915123456789", "", "+4915123456789"},
	} {
		got, err := Normalize(c.raw, c.cc)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q", c.raw, c.cc, got, err, c.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, c := range []struct{ name, raw, cc string }{
		{"empty", "", ""},
		{"blank", "   ", "86"},
		{"no country code", "13800138000", ""},
		{"no country code, just +", "13800138000", "+"},
		{"unknown country code", "13800138000", "999"},
		{"non-geographic code", "12345678", "800"},
		{"letters in code", "13800138000", "8a"},
		{"long code", "13800138000", "8600"},
		{"letters", "+1415555CALL", ""},
		{"vanity", "1-800-FLOWERS", "1"},
		{"too long", "+1 415 555 0100 0000 0000 0000 000", ""},
		{"too short", "+1415", ""},
		{"invalid CN", "12345", "86"},
		{"invalid US area", "+10005550100", ""},
		{"only plus", "+", ""},
		{"only separators", "(-)", "1"},
		{"plus inside", "1+4155550100", "1"},
		{"two pluses", "++14155550100", ""},
		{"unicode digits", "+１4155550100", ""},
		{"extension", "+14155550100;ext=1", ""},
		{"nul", "+1415555\x000100", ""},
	} {
		got, err := Normalize(c.raw, c.cc)
		var e *core.Error
		if err == nil {
			t.Errorf("%s: Normalize(%q, %q) = %q, want an error", c.name, c.raw, c.cc, got)
			continue
		}
		if !core.IsCode(err, core.EInvalidPhone) {
			t.Errorf("%s: error %v, want invalid_phone", c.name, err)
			continue
		}
		e = err.(*core.Error)
		if e.Field != "phone" {
			t.Errorf("%s: field %q, want phone", c.name, e.Field)
		}
		if digits := strings.Trim(c.raw, " +"); len(digits) >= 4 && strings.Contains(e.Error(), digits) {
			t.Errorf("%s: error %q echoes the input", c.name, e.Error())
		}
	}
}

// The test helper's random numbers must pass, or every signup test breaks.
func TestNormalizeAcceptsTestenvPhones(t *testing.T) {
	for _, p := range []string{"+12012000000", "+12018999999", "+12015551234"} {
		if got, err := Normalize(p, ""); err != nil || got != p {
			t.Errorf("Normalize(%q) = %q, %v", p, got, err)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []struct{ raw, cc string }{
		{"+14155550100", ""}, {"13800138000", "86"}, {"07911 123456", "44"}, {"(415) 555-0100", "+1"},
		{"", ""}, {"+", ""}, {"1-800-FLOWERS", "1"}, {"+8613800138000", "x"}, {"0000000000000000", "999"},
		{"+800 1234 5678", ""}, {"+1 (((((", "1"}, {"+44 20 7946 0958", "44"},
	} {
		f.Add(s.raw, s.cc)
	}
	f.Fuzz(func(t *testing.T, raw, cc string) {
		got, err := Normalize(raw, cc)
		if err != nil {
			if !core.IsCode(err, core.EInvalidPhone) {
				t.Fatalf("error %v is not invalid_phone", err)
			}
			return
		}
		if len(got) < 2 || got[0] != '+' || !allDigits(got[1:]) {
			t.Fatalf("Normalize(%q, %q) = %q, not E.164", raw, cc, got)
		}
		if again, err := Normalize(got, ""); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; E.164 output must be a fixed point", got, again, err)
		}
	})
}
