package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"testing"
)

// fixedSignature signs with a fixed nonce: the fuzzing engine runs the
// target's setup in several processes, which must agree on the seeds.
func fixedSignature(f *testing.F, method, path, deviceID string, body []byte) Headers {
	_, priv := testKey(f)
	h := Headers{DeviceID: deviceID, Timestamp: "1764000000", Nonce: "AAECAwQFBgcICQoLDA0ODw"}
	sig := ed25519.Sign(priv, Canonical(method, path, deviceID, h.Timestamp, h.Nonce, body))
	h.Signature = base64.RawURLEncoding.EncodeToString(sig)
	return h
}

// FuzzParseHeaders: never panics, and whatever it accepts has the form the
// contract fixes.
func FuzzParseHeaders(f *testing.F) {
	good := fixedSignature(f, "POST", "/api/v1/callbacks/approval", "dev_123", []byte("{}"))
	f.Add(good.DeviceID, good.Timestamp, good.Nonce, good.Signature)
	f.Add("", "0", good.Nonce+"==", good.Signature+"==")
	f.Add("dev\n1", "-1", "AAAA", "")
	f.Add("", "99999999999999999999", "+/+/", "\r\n")
	f.Fuzz(func(t *testing.T, deviceID, timestamp, nonce, signature string) {
		m := map[string]string{HeaderDeviceID: deviceID, HeaderTimestamp: timestamp, HeaderNonce: nonce, HeaderSignature: signature}
		h, err := ParseHeaders(func(k string) string { return m[k] })
		if err != nil {
			return
		}
		n, err := DecodeB64(h.Nonce)
		if err != nil || len(n) < MinNonceBytes {
			t.Fatalf("accepted nonce %q decodes to %d bytes, %v", h.Nonce, len(n), err)
		}
		s, err := DecodeB64(h.Signature)
		if err != nil || len(s) != 64 {
			t.Fatalf("accepted signature %q decodes to %d bytes, %v", h.Signature, len(s), err)
		}
		for _, field := range []string{h.DeviceID, h.Timestamp, h.Nonce, h.Signature} {
			if bytes.ContainsAny([]byte(field), "\r\n") {
				t.Fatalf("accepted a header with a line break: %q", field)
			}
		}
	})
}

// FuzzVerify: never panics, and nothing but the signed request verifies.
func FuzzVerify(f *testing.F) {
	pub, _ := testKey(f)
	const method, path, device = "POST", "/api/v1/callbacks/approval?x=1", "dev_123"
	body := []byte(`{"decision":"approve"}`)
	good := fixedSignature(f, method, path, device, body)
	f.Add(method, path, device, good.Timestamp, good.Nonce, good.Signature, body)
	f.Add(method, path+"&y=2", device, good.Timestamp, good.Nonce, good.Signature, body)
	f.Add(method, path, "", good.Timestamp, good.Nonce, good.Signature+"==", []byte{})
	f.Add("GET", "/", "dev\n123", "1", "AAAAAAAAAAAAAAAAAAAAAA", base64.RawURLEncoding.EncodeToString(make([]byte, 64)), []byte(nil))
	f.Fuzz(func(t *testing.T, m, p, d, ts, nonce, sig string, b []byte) {
		h := Headers{DeviceID: d, Timestamp: ts, Nonce: nonce, Signature: sig}
		if Verify(pub, m, p, h, b) != nil {
			return
		}
		if m != method || p != path || d != device || ts != good.Timestamp || nonce != good.Nonce || !bytes.Equal(b, body) {
			t.Fatalf("a different request verified: %q %q %q %q %q %q", m, p, d, ts, nonce, b)
		}
	})
}
