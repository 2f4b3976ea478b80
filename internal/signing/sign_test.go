package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/approvald/approvald/internal/core"
)

var testNow = time.Unix(1764000000, 0)

func testKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv
}

// TestVerifyKnownVector checks a signature made independently by OpenSSL
// (`openssl pkeyutl -sign -rawin`) over the same canonical string, so the
// scheme does not merely agree with itself.
func TestVerifyKnownVector(t *testing.T) {
	pub, _ := testKey(t)
	if got := base64.RawURLEncoding.EncodeToString(pub); got != "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" {
		t.Fatalf("public key = %s", got)
	}
	h := Headers{
		DeviceID:  "dev_123",
		Timestamp: "1764000000",
		Nonce:     "AAECAwQFBgcICQoLDA0ODw",
		Signature: "V_RQDmvT6J_CGdP923Ugr973fzACwjLXIKK5CuYfpdxvpxihFi2y0U6FjMsSfjv9MoyedPTPzA5tFYg6XIMABA",
	}
	body := []byte(`{"approval_id":"apr_x","decision":"approve","match_number":42}`)
	if err := Verify(pub, "POST", "/api/v1/callbacks/approval?x=1", h, body); err != nil {
		t.Fatalf("Verify(OpenSSL vector) = %v", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	pub, priv := testKey(t)
	body := []byte(`{"decision":"approve"}`)
	for _, deviceID := range []string{"dev_123", ""} {
		h := Sign(priv, "POST", "/api/v1/callbacks/approval", deviceID, body, testNow)
		if h.DeviceID != deviceID || h.Timestamp != "1764000000" {
			t.Fatalf("Sign headers = %+v", h)
		}
		if err := Verify(pub, "POST", "/api/v1/callbacks/approval", h, body); err != nil {
			t.Fatalf("Verify(device %q) = %v", deviceID, err)
		}
	}
}

func TestSignUsesFreshNonces(t *testing.T) {
	_, priv := testKey(t)
	a := Sign(priv, "GET", "/x", "", nil, testNow)
	b := Sign(priv, "GET", "/x", "", nil, testNow)
	if a.Nonce == b.Nonce || a.Signature == b.Signature {
		t.Fatal("two signatures share a nonce")
	}
	raw, err := base64.RawURLEncoding.DecodeString(a.Nonce)
	if err != nil || len(raw) != 16 {
		t.Fatalf("nonce %q: %d bytes, %v", a.Nonce, len(raw), err)
	}
}

func TestVerifyRejectsAnyChange(t *testing.T) {
	pub, priv := testKey(t)
	const method, path, device = "POST", "/api/v1/callbacks/approval?a=1&b=2", "dev_123"
	body := []byte(`{"approval_id":"apr_1","decision":"approve","match_number":42}`)
	h := Sign(priv, method, path, device, body, testNow)

	type request struct {
		method, path string
		h            Headers
		body         []byte
	}
	changed := func(f func(r *request)) request {
		r := request{method, path, h, append([]byte(nil), body...)}
		f(&r)
		return r
	}
	cases := map[string]request{
		"method":           changed(func(r *request) { r.method = "PUT" }),
		"method case":      changed(func(r *request) { r.method = "post" }),
		"path":             changed(func(r *request) { r.path = "/api/v1/callbacks/approvals?a=1&b=2" }),
		"path prefix":      changed(func(r *request) { r.path = "/auth/api/v1/callbacks/approval?a=1&b=2" }),
		"query value":      changed(func(r *request) { r.path = "/api/v1/callbacks/approval?a=1&b=3" }),
		"query order":      changed(func(r *request) { r.path = "/api/v1/callbacks/approval?b=2&a=1" }),
		"query dropped":    changed(func(r *request) { r.path = "/api/v1/callbacks/approval" }),
		"device id":        changed(func(r *request) { r.h.DeviceID = "dev_124" }),
		"device id absent": changed(func(r *request) { r.h.DeviceID = "" }),
		"timestamp":        changed(func(r *request) { r.h.Timestamp = strconv.FormatInt(testNow.Unix()+1, 10) }),
		"nonce":            changed(func(r *request) { r.h.Nonce = NewNonce() }),
		"nonce padded":     changed(func(r *request) { r.h.Nonce += "==" }),
		"body empty":       changed(func(r *request) { r.body = nil }),
		"body appended":    changed(func(r *request) { r.body = append(r.body, ' ') }),
	}
	for name, r := range cases {
		if err := Verify(pub, r.method, r.path, r.h, r.body); !core.IsCode(err, core.EInvalidSignature) {
			t.Errorf("%s: Verify = %v, want invalid_signature", name, err)
		}
	}
	for i := range body {
		r := changed(func(r *request) { r.body[i] ^= 0x01 })
		if err := Verify(pub, r.method, r.path, r.h, r.body); !core.IsCode(err, core.EInvalidSignature) {
			t.Fatalf("body byte %d flipped: Verify = %v, want invalid_signature", i, err)
		}
	}
	sig, _ := DecodeB64(h.Signature)
	for i := range sig {
		bad := append([]byte(nil), sig...)
		bad[i] ^= 0x80
		r := changed(func(r *request) { r.h.Signature = base64.RawURLEncoding.EncodeToString(bad) })
		if err := Verify(pub, r.method, r.path, r.h, r.body); !core.IsCode(err, core.EInvalidSignature) {
			t.Fatalf("signature byte %d flipped: Verify = %v, want invalid_signature", i, err)
		}
	}
	if err := Verify(pub, method, path, h, body); err != nil {
		t.Fatalf("the unchanged request no longer verifies: %v", err)
	}
}

func TestVerifyRejectsOtherKeys(t *testing.T) {
	_, priv := testKey(t)
	h := Sign(priv, "GET", "/x", "", nil, testNow)
	other, _, _ := ed25519.GenerateKey(nil)
	if err := Verify(other, "GET", "/x", h, nil); !core.IsCode(err, core.EInvalidSignature) {
		t.Fatalf("Verify(other key) = %v", err)
	}
	for _, n := range []int{0, 31, 33, 64} {
		if err := Verify(make([]byte, n), "GET", "/x", h, nil); !core.IsCode(err, core.EInvalidSignature) {
			t.Fatalf("Verify(%d-byte key) = %v", n, err)
		}
	}
}

func TestVerifyAcceptsPaddedBase64(t *testing.T) {
	pub, priv := testKey(t)
	nonce := base64.URLEncoding.EncodeToString([]byte("0123456789abcdef")) // padded: ends in "=="
	canonical := Canonical("GET", "/x", "", "1764000000", nonce, nil)
	h := Headers{
		Timestamp: "1764000000",
		Nonce:     nonce,
		Signature: base64.URLEncoding.EncodeToString(ed25519.Sign(priv, canonical)),
	}
	if err := Verify(pub, "GET", "/x", h, nil); err != nil {
		t.Fatalf("padded nonce and signature: %v", err)
	}
	h.Signature = base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, canonical))
	if err := Verify(pub, "GET", "/x", h, nil); err != nil {
		t.Fatalf("padded nonce, unpadded signature: %v", err)
	}
}

func TestApplyThenParseRoundTrip(t *testing.T) {
	pub, priv := testKey(t)
	for _, deviceID := range []string{"dev_123", ""} {
		header := http.Header{}
		header.Set(HeaderDeviceID, "stale")
		Sign(priv, "GET", "/x", deviceID, nil, testNow).Apply(header)
		if _, present := header[HeaderDeviceID]; present != (deviceID != "") {
			t.Fatalf("device %q: X-Device-Id present = %v", deviceID, present)
		}
		h, err := ParseHeaders(header.Get)
		if err != nil {
			t.Fatalf("ParseHeaders: %v", err)
		}
		if err := Verify(pub, "GET", "/x", h, nil); err != nil {
			t.Fatalf("Verify after Apply/ParseHeaders: %v", err)
		}
	}
}

func BenchmarkCanonicalVerify(b *testing.B) {
	pub, priv := testKey(b)
	body := []byte(`{"approval_id":"apr_abcdefghijklmnopqrstuvwxyz","device_id":"dev_abcdefghijklmnopqrstuvwxyz","decision":"approve","match_number":42,"report":false}`)
	h := Sign(priv, "POST", "/api/v1/callbacks/approval", "dev_abcdefghijklmnopqrstuvwxyz", body, testNow)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(pub, "POST", "/api/v1/callbacks/approval", h, body); err != nil {
			b.Fatal(err)
		}
	}
}
