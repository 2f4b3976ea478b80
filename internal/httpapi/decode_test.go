package httpapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

type decodeTarget struct {
	Name      string `json:"name"`
	TwoFactor *bool  `json:"two_factor"`
	Number    *int   `json:"match_number"`
	Ignored   string `json:"-"`
}

func wantInvalid(t *testing.T, body, field, inMessage string) {
	t.Helper()
	var dst decodeTarget
	err := decodeBody([]byte(body), &dst)
	var e *core.Error
	if !errors.As(err, &e) || e.Code != core.EInvalidRequest {
		t.Fatalf("decode %q = %v, want invalid_request", body, err)
	}
	if e.Field != field || !strings.Contains(e.Message, inMessage) {
		t.Fatalf("decode %q: field %q message %q, want field %q and a message with %q", body, e.Field, e.Message, field, inMessage)
	}
}

func TestDecodeRefusesUnknownFields(t *testing.T) {
	wantInvalid(t, `{"passwordless":"push"}`, "passwordless", `unknown field "passwordless"`)
	wantInvalid(t, `{"name":"Ada","web_push":{"endpoint":"https://x"}}`, "web_push", `"web_push"`)
	wantInvalid(t, `{"-":"x"}`, "-", `unknown field "-"`)
	long := strings.Repeat("x", 1000)
	var dst decodeTarget
	err := decodeBody([]byte(`{"`+long+`":1}`), &dst)
	if err == nil || strings.Contains(err.Error(), long) {
		t.Fatalf("a long unknown name: %v, want an error that does not repeat all of it", err)
	}
	// Known fields match as encoding/json matches them, case folded.
	if err := decodeBody([]byte(`{"Name":"Ada","TWO_FACTOR":true,"match_number":null}`), &dst); err != nil || dst.Name != "Ada" || !*dst.TwoFactor {
		t.Fatalf("known fields: %v, %+v", err, dst)
	}
}

func TestDecodeRefusesNULAndInvalidUTF8(t *testing.T) {
	wantInvalid(t, `{"name":"Ada\u0000"}`, "name", "NUL")
	wantInvalid(t, "{\"name\":\"Ada\xff\"}", "name", "UTF-8")
	wantInvalid(t, "{\"name\":\"\xc3\"}", "name", "UTF-8")         // a truncated sequence
	wantInvalid(t, "{\"name\":\"\xed\xa0\x80\"}", "name", "UTF-8") // an encoded surrogate
	wantInvalid(t, `{"na\u0000me":"Ada"}`, "", "field names must not contain NUL")
	wantInvalid(t, "{\"n\xffme\":\"Ada\"}", "", "field names must be valid UTF-8")
	wantInvalid(t, "[\"\xff\"]", "", "the request body must be valid UTF-8")
	// In a nested value, the top-level field is named.
	var nested struct {
		Details map[string]any `json:"details"`
	}
	err := decodeBody([]byte(`{"details":{"a":["ok",{"b":"x\u0000"}]}}`), &nested)
	var e *core.Error
	if !errors.As(err, &e) || e.Code != core.EInvalidRequest || e.Field != "details" {
		t.Fatalf("nested NUL: %v", err)
	}
	// Escaped non-ASCII and a literal U+FFFD are fine.
	var dst decodeTarget
	if err := decodeBody([]byte(`{"name":"Ad\u00e9 \ud83d\ude00 `+"\uFFFD"+`"}`), &dst); err != nil || dst.Name != "Adé 😀 \uFFFD" {
		t.Fatalf("valid UTF-8: %v, %q", err, dst.Name)
	}
}

func TestDecodeKeepsItsOtherAnswers(t *testing.T) {
	wantInvalid(t, ``, "", "empty")
	wantInvalid(t, `{"name":`, "", "not valid JSON")
	wantInvalid(t, `{"name":1}`, "name", "must be a string")
	wantInvalid(t, `[]`, "", "must be a JSON object")
	wantInvalid(t, `{"name":"a"} {}`, "", "data after")
}
