package otp

import (
	"encoding/hex"
	"testing"
)

func TestNewCodeIsSixDigits(t *testing.T) {
	seen := map[string]bool{}
	firstDigits := map[byte]bool{}
	for range 2000 {
		c := NewCode()
		if !isCode(c) {
			t.Fatalf("NewCode() = %q, want 6 ASCII digits", c)
		}
		seen[c] = true
		firstDigits[c[0]] = true
	}
	// 2000 draws from 10^6: a repeat-heavy or zero-padding-free generator
	// shows here (the chance of < 1990 distinct values is negligible).
	if len(seen) < 1990 {
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
	if !firstDigits['0'] || len(firstDigits) != 10 {
		t.Fatalf("leading digits seen: %d of 10 (0 included: %v)", len(firstDigits), firstDigits['0'])
	}
}

func TestCodeHasher(t *testing.T) {
	h := NewCodeHasher([]byte("server-key-0123456789abcdef012345"))
	hash := h.Hash("ver_abc", "123456")
	if raw, err := hex.DecodeString(hash); err != nil || len(raw) != 32 {
		t.Fatalf("Hash = %q, want 64 hex characters", hash)
	}
	if !h.Equal(hash, "ver_abc", "123456") {
		t.Fatal("Equal(own hash) = false")
	}
	for _, c := range []struct{ scope, code string }{
		{"ver_abc", "123457"}, // wrong code
		{"ver_abd", "123456"}, // another flow's code
		{"ver_ab", "c123456"}, // the separator keeps scope and code apart
		{"", ""},
	} {
		if h.Equal(hash, c.scope, c.code) {
			t.Errorf("Equal(hash, %q, %q) = true", c.scope, c.code)
		}
	}
	if other := NewCodeHasher([]byte("another-key")); other.Equal(hash, "ver_abc", "123456") {
		t.Error("a hasher with another key accepts the hash")
	}
	if h.Equal("", "ver_abc", "123456") || h.Equal("zz", "ver_abc", "123456") {
		t.Error("Equal accepts a malformed hash")
	}
}

// Hash is exactly hex HMAC-SHA256(key, scope+"\x00"+code); the expected
// value was computed independently:
// printf 'what do ya want\0for nothing?' | openssl dgst -sha256 -hmac Jefe
func TestCodeHasherIsHMACSHA256(t *testing.T) {
	h := NewCodeHasher([]byte("Jefe"))
	const want = "adf13648edae17564744ff0aef28b138a329fa4a8104ff63388d270cef395d2b"
	if got := h.Hash("what do ya want", "for nothing?"); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
}
