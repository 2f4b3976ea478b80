// Package phone normalizes the phone numbers users type into E.164, the one
// form approvald stores, compares and sends SMS to.
package phone

import (
	"strconv"
	"strings"

	"github.com/approvald/approvald/internal/core"
	"github.com/nyaruka/phonenumbers"
)

// MaxInputLen bounds what is handed to the parser.
const MaxInputLen = 32

// Normalize returns raw in E.164 ("+8613800138000").
//
// raw is either an international number starting with + (countryCode is then
// ignored: the number names its own country), or national digits with
// countryCode giving the calling code ("86" or "+86"). Spaces, dashes, dots
// and parentheses are tolerated; letters and anything else are not. A number
// that is not valid for its country is refused. Every refusal is an
// invalid_phone error on field "phone" whose message never repeats the input.
func Normalize(raw, countryCode string) (string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", invalid("phone is required")
	case len(raw) > MaxInputLen:
		return "", invalid("phone is too long")
	case !onlyPhoneChars(raw):
		return "", invalid("phone must be in E.164 form")
	}

	region := "ZZ" // unknown region: the parser then requires a leading +
	if !strings.HasPrefix(raw, "+") {
		cc := strings.TrimPrefix(strings.TrimSpace(countryCode), "+")
		if cc == "" {
			return "", invalid("phone must be in E.164 form, or national digits with a country_code")
		}
		region = regionOf(cc)
		if region == "" {
			return "", invalid("country_code is not a known calling code")
		}
	}

	num, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", invalid("phone is not a valid number")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// regionOf returns the main region of a calling code ("86" → "CN", "1" →
// "US"), or "" for a code that is malformed or assigned to no region.
// Numbers of other regions sharing the code (Canada for "1") still parse:
// validity is checked against the whole calling code.
func regionOf(cc string) string {
	if len(cc) == 0 || len(cc) > 3 || cc[0] == '0' || !allDigits(cc) {
		return ""
	}
	n, _ := strconv.Atoi(cc)
	region := phonenumbers.GetRegionCodeForCountryCode(n)
	if region == "ZZ" || region == "001" { // unknown, or non-geographic (+800, +882…)
		return ""
	}
	return region
}

// onlyPhoneChars allows one leading +, digits and common separators.
func onlyPhoneChars(s string) bool {
	digits := 0
	for i := range len(s) {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits > 0
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func invalid(message string) error {
	return core.FieldError(core.EInvalidPhone, "phone", message)
}
