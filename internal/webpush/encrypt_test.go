package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}

// RFC 8291 Appendix A, its line breaks removed.
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcASPublic  = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

// TestEncryptRFC8291 reproduces the RFC's example byte for byte: its keys,
// salt and record size (4096) give its body.
func TestEncryptRFC8291(t *testing.T) {
	as, err := ecdh.P256().NewPrivateKey(b64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(as.PublicKey().Bytes(), b64(t, rfcASPublic)) {
		t.Fatal("the sender's public key differs from the RFC's")
	}
	got, err := encrypt([]byte(rfcPlaintext), b64(t, rfcUAPublic), b64(t, rfcAuth), b64(t, rfcSalt), as, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if want := b64(t, rfcBody); !bytes.Equal(got, want) {
		t.Fatalf("body:\n got %x\nwant %x", got, want)
	}
}

// TestDecryptRFC8291 opens the RFC's body with the user agent's keys.
func TestDecryptRFC8291(t *testing.T) {
	ua, err := ecdh.P256().NewPrivateKey(b64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ua.PublicKey().Bytes(), b64(t, rfcUAPublic)) {
		t.Fatal("the user agent's public key differs from the RFC's")
	}
	got, err := Decrypt(b64(t, rfcBody), ua, b64(t, rfcAuth))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != rfcPlaintext {
		t.Fatalf("plaintext %q", got)
	}
	body := b64(t, rfcBody)
	body[len(body)-1] ^= 1
	if _, err := Decrypt(body, ua, b64(t, rfcAuth)); err == nil {
		t.Fatal("a tampered body decrypted")
	}
	if _, err := Decrypt(b64(t, rfcBody), ua, make([]byte, 16)); err == nil {
		t.Fatal("decrypted with the wrong auth secret")
	}
}

// TestEncryptRoundTrip: fresh keys and salt each time, one record up to
// MaxPayload, refused beyond.
func TestEncryptRoundTrip(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, AuthSecretSize)
	_, _ = rand.Read(auth)
	for _, n := range []int{0, 1, 500, MaxPayload} {
		msg := bytes.Repeat([]byte{'x'}, n)
		body, err := Encrypt(msg, ua.PublicKey().Bytes(), auth)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if len(body) > 4096 {
			t.Fatalf("%d bytes: body of %d bytes", n, len(body))
		}
		got, err := Decrypt(body, ua, auth)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: round trip: %v", n, err)
		}
	}
	if _, err := Encrypt(make([]byte, MaxPayload+1), ua.PublicKey().Bytes(), auth); err != ErrTooLarge {
		t.Fatalf("too large: %v", err)
	}
	if _, err := Encrypt(nil, []byte{4, 1, 2}, auth); err == nil {
		t.Fatal("accepted a p256dh that is no point")
	}
}
