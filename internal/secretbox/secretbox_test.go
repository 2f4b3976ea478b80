package secretbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpenRoundTrip(t *testing.T) {
	box, err := New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("12345678901234567890")
	sealed := box.Seal(secret, []byte("dev_1"))

	if len(sealed) != 1+4+12+len(secret)+16 {
		t.Fatalf("sealed is %d bytes, want %d", len(sealed), 1+4+12+len(secret)+16)
	}
	sum := sha256.Sum256(key(1))
	if sealed[0] != 1 || !bytes.Equal(sealed[1:5], sum[:4]) {
		t.Fatalf("header = %x, want 01 then %x", sealed[:5], sum[:4])
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("plaintext visible in the sealed value")
	}
	got, err := box.Open(sealed, []byte("dev_1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again := box.Seal(secret, []byte("dev_1")); bytes.Equal(again[5:17], sealed[5:17]) {
		t.Fatal("two seals share a nonce")
	}
	empty := box.Seal(nil, nil)
	if got, err := box.Open(empty, nil); err != nil || len(got) != 0 {
		t.Fatalf("Open(empty) = %q, %v", got, err)
	}
}

func TestOpenWrongAAD(t *testing.T) {
	box, _ := New(key(1))
	sealed := box.Seal([]byte("secret"), []byte("dev_1"))
	for _, aad := range [][]byte{[]byte("dev_2"), nil, []byte("dev_1 ")} {
		if _, err := box.Open(sealed, aad); !errors.Is(err, ErrOpen) {
			t.Errorf("Open with aad %q = %v, want ErrOpen", aad, err)
		}
	}
}

func TestOpenTampered(t *testing.T) {
	box, _ := New(key(1))
	sealed := box.Seal([]byte("secret"), []byte("aad"))
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		_, err := box.Open(bad, []byte("aad"))
		if err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	if _, err := box.Open(sealed[:len(sealed)-1], []byte("aad")); !errors.Is(err, ErrOpen) {
		t.Errorf("truncated tag: %v, want ErrOpen", err)
	}
	if _, err := box.Open(sealed[:20], []byte("aad")); !errors.Is(err, ErrMalformed) {
		t.Errorf("short value: %v, want ErrMalformed", err)
	}
	bad := bytes.Clone(sealed)
	bad[0] = 2
	if _, err := box.Open(bad, []byte("aad")); !errors.Is(err, ErrMalformed) {
		t.Errorf("version 2: %v, want ErrMalformed", err)
	}
}

func TestRotation(t *testing.T) {
	old, _ := New(key(1))
	sealedOld := old.Seal([]byte("old secret"), []byte("a"))

	rotated, err := New(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealedOld, []byte("a")); err != nil || string(got) != "old secret" {
		t.Fatalf("rotated box opens the old value: %q, %v", got, err)
	}
	if rotated.SealedWithPrimary(sealedOld) {
		t.Fatal("old value reported as sealed with the new primary")
	}
	sealedNew := rotated.Seal([]byte("new secret"), []byte("a"))
	if !rotated.SealedWithPrimary(sealedNew) {
		t.Fatal("new value not reported as sealed with the primary")
	}
	if _, err := old.Open(sealedNew, []byte("a")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old box opening a new value: %v, want ErrUnknownKey", err)
	}
	// Once the old key is dropped, its values no longer open.
	onlyNew, _ := New(key(2))
	if _, err := onlyNew.Open(sealedOld, []byte("a")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("dropped key: %v, want ErrUnknownKey", err)
	}
	if got, err := onlyNew.Open(sealedNew, []byte("a")); err != nil || string(got) != "new secret" {
		t.Fatalf("Open(new) = %q, %v", got, err)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	for name, keys := range map[string][][]byte{
		"nil primary": {nil},
		"short":       {key(1)[:16]},
		"long":        {append(key(1), 0)},
		"short older": {key(1), key(2)[:31]},
		"24-byte aes": {key(1)[:24]},
	} {
		if _, err := New(keys[0], keys[1:]...); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(key(1), key(1)); err != nil {
		t.Errorf("the primary repeated among older keys: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(250 - i) // high bytes, so std and url alphabets differ
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s := enc.EncodeToString(raw)
		got, err := ParseKey(" " + s + "\n")
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	secret := base64.StdEncoding.EncodeToString(raw[:16])
	for _, s := range []string{"", "not base64!", secret, base64.StdEncoding.EncodeToString(append(raw, 1))} {
		_, err := ParseKey(s)
		if err == nil {
			t.Errorf("ParseKey(%q) succeeded", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("ParseKey error %q repeats the input", err)
		}
	}
}
