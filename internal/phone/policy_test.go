package phone

import (
	"errors"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/testenv"
)

func wantRefused(t *testing.T, p *SMSPolicy, e164, why string) {
	t.Helper()
	err := p.Check(e164)
	var e *core.Error
	if !core.IsCode(err, core.EInvalidPhone) || !errors.As(err, &e) || e.Field != "phone" {
		t.Fatalf("Check(%s) [%s] = %v, want invalid_phone on field phone", e164, why, err)
	}
	if strings.Contains(e.Message, strings.TrimPrefix(e164, "+")) {
		t.Fatalf("the message repeats the number: %q", e.Message)
	}
}

func TestSMSPolicyRefusesNumbersThatAreNotASubscribersLine(t *testing.T) {
	every, err := NewSMSPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ number, why string }{
		{"+19005550123", "US premium rate (the reproduced case)"},
		{"+18005550123", "US toll free"},
		{"+448712345678", "GB premium rate"},
		{"+445612345678", "GB VoIP"},
		{"+447012345678", "GB personal number"},
		{"+881612345678", "satellite (non-geographic, MOBILE by type)"},
	} {
		wantRefused(t, every, c.number, c.why)
	}
	// Every refused type, in every country that has an example of it.
	refused := []phonenumbers.PhoneNumberType{
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.TOLL_FREE, phonenumbers.VOIP,
		phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL,
	}
	seen := map[phonenumbers.PhoneNumberType]int{}
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range refused {
			num := phonenumbers.GetExampleNumberForType(region, typ)
			if num == nil || phonenumbers.GetNumberType(num) != typ {
				continue // no example, or one whose pattern overlaps another type
			}
			seen[typ]++
			wantRefused(t, every, phonenumbers.Format(num, phonenumbers.E164), region+" "+typeName(typ))
		}
	}
	for _, typ := range refused {
		if seen[typ] == 0 {
			t.Errorf("no example of %s was checked", typeName(typ))
		}
	}
}

func TestSMSPolicyAllowsMobileAndFixedLines(t *testing.T) {
	every, err := NewSMSPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{
		"+14155550100", "+12015550123", testenv.RandomPhone(), // US: fixed line or mobile
		"+16135550123",   // Canada
		"+447400123456",  // GB mobile
		"+442079460958",  // GB fixed line
		"+8613800138000", // CN mobile
		"+4915123456789", // DE mobile
	} {
		if err := every.Check(n); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", n, err)
		}
	}
	var none *SMSPolicy // nil: no policy, every valid number
	if err := none.Check("+19005550123"); err != nil {
		t.Fatalf("nil policy: %v", err)
	}
}

func TestSMSPolicyCountries(t *testing.T) {
	p, err := NewSMSPolicy([]string{"us", " GB "})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Countries(), ","); got != "GB,US" {
		t.Fatalf("Countries() = %s", got)
	}
	for _, n := range []string{"+14155550100", "+447400123456", "+442079460958"} {
		if err := p.Check(n); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", n, err)
		}
	}
	for _, c := range []struct{ number, why string }{
		{"+16135550123", "Canada shares +1 with the US but is not allowed"},
		{"+12423591234", "the Bahamas share +1 too"},
		{"+447911123456", "Guernsey shares +44 with GB but is a country of its own"},
		{"+8613800138000", "China"},
		{"+19005550123", "an allowed country's premium rate"},
	} {
		wantRefused(t, p, c.number, c.why)
	}
	if got := (&SMSPolicy{}).Countries(); got != nil {
		t.Fatalf("every country: Countries() = %v, want nil", got)
	}
}

func TestNewSMSPolicyRefusesUnknownCodes(t *testing.T) {
	for _, list := range [][]string{{"UK"}, {"US", "XX"}, {"USA"}, {"001"}, {"1"}, {""}} {
		if _, err := NewSMSPolicy(list); err == nil {
			t.Errorf("NewSMSPolicy(%q): no error", list)
		}
	}
	_, err := NewSMSPolicy([]string{"UK"})
	if err == nil || !strings.Contains(err.Error(), "GB") {
		t.Fatalf("UK: %v, want a hint at GB", err)
	}
}

func typeName(t phonenumbers.PhoneNumberType) string {
	return map[phonenumbers.PhoneNumberType]string{
		phonenumbers.PREMIUM_RATE: "premium rate", phonenumbers.SHARED_COST: "shared cost",
		phonenumbers.TOLL_FREE: "toll free", phonenumbers.VOIP: "VoIP", phonenumbers.PERSONAL_NUMBER: "personal number",
		phonenumbers.PAGER: "pager", phonenumbers.UAN: "UAN", phonenumbers.VOICEMAIL: "voicemail",
	}[t]
}
