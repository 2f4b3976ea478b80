package signing

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
)

func validHeaders() map[string]string {
	return map[string]string{
		HeaderDeviceID:  "dev_123",
		HeaderTimestamp: "1764000000",
		HeaderNonce:     base64.RawURLEncoding.EncodeToString(make([]byte, 16)),
		HeaderSignature: base64.RawURLEncoding.EncodeToString(make([]byte, 64)),
	}
}

func TestParseHeadersAcceptsWellFormed(t *testing.T) {
	m := validHeaders()
	h, err := ParseHeaders(func(k string) string { return m[k] })
	if err != nil {
		t.Fatalf("ParseHeaders = %v", err)
	}
	want := Headers{DeviceID: m[HeaderDeviceID], Timestamp: m[HeaderTimestamp], Nonce: m[HeaderNonce], Signature: m[HeaderSignature]}
	if h != want {
		t.Fatalf("ParseHeaders = %+v, want %+v", h, want)
	}
	delete(m, HeaderDeviceID) // server → device
	if _, err := ParseHeaders(func(k string) string { return m[k] }); err != nil {
		t.Fatalf("without X-Device-Id: %v", err)
	}
	m[HeaderNonce] = base64.URLEncoding.EncodeToString(make([]byte, 64))
	m[HeaderSignature] = base64.URLEncoding.EncodeToString(make([]byte, 64))
	if _, err := ParseHeaders(func(k string) string { return m[k] }); err != nil {
		t.Fatalf("padded 64-byte nonce and padded signature: %v", err)
	}
}

func TestParseHeadersRejectsMalformed(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	cases := []struct {
		name, header, value string
	}{
		{"device id with space", HeaderDeviceID, "dev 123"},
		{"device id with newline", HeaderDeviceID, "dev_1\n1764000000"},
		{"device id non-ASCII", HeaderDeviceID, "dév_123"},
		{"device id too long", HeaderDeviceID, "dev_" + strings.Repeat("a", MaxDeviceIDLength)},
		{"timestamp missing", HeaderTimestamp, ""},
		{"timestamp negative", HeaderTimestamp, "-1764000000"},
		{"timestamp plus sign", HeaderTimestamp, "+1764000000"},
		{"timestamp leading zero", HeaderTimestamp, "01764000000"},
		{"timestamp fraction", HeaderTimestamp, "1764000000.5"},
		{"timestamp exponent", HeaderTimestamp, "1.764e9"},
		{"timestamp space", HeaderTimestamp, " 1764000000"},
		{"timestamp milliseconds overflow", HeaderTimestamp, "99999999999999999999"},
		{"timestamp RFC 3339", HeaderTimestamp, "2025-11-24T16:00:00Z"},
		{"nonce missing", HeaderNonce, ""},
		{"nonce 15 bytes", HeaderNonce, b64(make([]byte, 15))},
		{"nonce 65 bytes", HeaderNonce, b64(make([]byte, 65))},
		{"nonce standard alphabet", HeaderNonce, "+/+/+/+/+/+/+/+/+/+/+/"},
		{"nonce with newline", HeaderNonce, "AAAAAAAAAAA\nAAAAAAAAAAA"},
		{"nonce bad padding", HeaderNonce, b64(make([]byte, 16)) + "="},
		{"nonce trailing bits", HeaderNonce, "AAAAAAAAAAAAAAAAAAAAAB"},
		{"signature missing", HeaderSignature, ""},
		{"signature 63 bytes", HeaderSignature, b64(make([]byte, 63))},
		{"signature 65 bytes", HeaderSignature, b64(make([]byte, 65))},
		{"signature standard base64", HeaderSignature, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 64))},
		{"signature hex", HeaderSignature, strings.Repeat("ab", 64)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := validHeaders()
			m[c.header] = c.value
			_, err := ParseHeaders(func(k string) string { return m[k] })
			if !core.IsCode(err, core.EInvalidSignature) {
				t.Fatalf("ParseHeaders = %v, want invalid_signature", err)
			}
			if c.value != "" && strings.Contains(err.Error(), c.value) {
				t.Fatalf("error %q echoes the header value", err)
			}
		})
	}
}

func TestDecodeB64(t *testing.T) {
	data := []byte{0xfb, 0xff, 0xfe, 0x01}
	for _, s := range []string{
		base64.RawURLEncoding.EncodeToString(data), // "-__-AQ"
		base64.URLEncoding.EncodeToString(data),    // "-__-AQ=="
	} {
		got, err := DecodeB64(s)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("DecodeB64(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"+//+AQ==", "-__-AQ=", "-__-A\nQ", "-__-AR", "-__-AQ===", "=", "-_ _"} {
		if _, err := DecodeB64(s); err == nil {
			t.Errorf("DecodeB64(%q) accepted", s)
		}
	}
}
