package phone

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// SMSPolicy says which numbers approvald texts. It exists against SMS
// pumping (toll fraud): an attacker signs up numbers whose operator pays
// them per message received, premium-rate ranges or the mobile ranges of
// expensive destinations, and makes the service text them.
//
// A number is texted only when it is geographic (a country's, not +800,
// +881 satellite and other non-geographic codes, which are billed at
// premium rates), of a country on the allow-list (when there is one), and
// of a type that is a subscriber's line: mobile, fixed line, or either
// where the numbering plan cannot tell (all of North America).
//
// VoIP numbers are refused too: where a plan gives VoIP a range of its own
// (the UK's 056, for instance) they are handed out in bulk and at once, so
// they are what an attacker scripts signups with, and many cannot receive
// SMS at all. Where the plan does not set them apart (the US) they are
// FIXED_LINE_OR_MOBILE and pass, so few real users are affected.
type SMSPolicy struct {
	countries map[string]bool // ISO 3166 alpha-2; nil: every country
}

// textableTypes are the number types a code may be sent to; premium rate,
// shared cost, toll free, personal numbers, UAN, pagers, voicemail, VoIP
// and unknown types are not.
var textableTypes = []phonenumbers.PhoneNumberType{
	phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE,
}

// NewSMSPolicy allows the numbers of countries (ISO 3166 alpha-2 codes,
// any case), or of every country when countries is empty. An unknown code
// is an error naming it: a typo must not silently allow nothing, or less.
func NewSMSPolicy(countries []string) (*SMSPolicy, error) {
	p := &SMSPolicy{}
	if len(countries) == 0 {
		return p, nil
	}
	supported := phonenumbers.GetSupportedRegions()
	p.countries = map[string]bool{}
	for _, c := range countries {
		code := strings.ToUpper(strings.TrimSpace(c))
		if len(code) != 2 || !supported[code] {
			hint := ""
			if code == "UK" {
				hint = " (the United Kingdom is GB)"
			}
			return nil, fmt.Errorf("%q is not an ISO 3166 alpha-2 country code%s", c, hint)
		}
		p.countries[code] = true
	}
	return p, nil
}

// Countries lists the allowed countries, sorted; nil means every country.
func (p *SMSPolicy) Countries() []string {
	if p == nil || p.countries == nil {
		return nil
	}
	out := make([]string, 0, len(p.countries))
	for c := range p.countries {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Check refuses, as invalid_phone on field "phone", a number (E.164, as
// Normalize returns it) that approvald does not text. A nil policy allows
// every valid number.
func (p *SMSPolicy) Check(e164 string) error {
	if p == nil {
		return nil
	}
	num, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return invalid("phone is not a valid number")
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if region == "" || region == "ZZ" || region == "001" {
		return invalid("phone must be a number of a country; international and satellite numbers cannot receive codes")
	}
	if p.countries != nil && !p.countries[region] {
		return invalid("this server does not send codes to phone numbers of that country")
	}
	if !slices.Contains(textableTypes, phonenumbers.GetNumberType(num)) {
		return invalid("phone must be a mobile or landline number; premium-rate, shared-cost, toll-free, VoIP and similar numbers cannot receive codes")
	}
	return nil
}
