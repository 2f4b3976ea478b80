package oidcclient_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/approvald/approvald/internal/core"
	"github.com/approvald/approvald/internal/oidcclient"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestVerifySecret(t *testing.T) {
	h := oidcclient.NewHasher(key(1))
	secret := oidcclient.NewSecret()
	hash := h.Hash(secret)
	if !strings.HasPrefix(hash, "hmac-sha256$") || strings.Contains(hash, secret) {
		t.Fatalf("hash %q", hash)
	}
	if err := oidcclient.CheckHash(hash); err != nil {
		t.Fatalf("CheckHash of a hash: %v", err)
	}
	c := &core.OIDCClient{SecretHash: hash}
	if !h.VerifySecret(c, secret) {
		t.Fatal("the secret does not verify")
	}
	for _, wrong := range []string{"", secret[:42], secret + "x", strings.ToUpper(secret), oidcclient.NewSecret(), hash} {
		if h.VerifySecret(c, wrong) {
			t.Errorf("%q verifies", wrong)
		}
	}
	// Keyed: another SECRET_KEY's hasher does not verify it.
	if oidcclient.NewHasher(key(2)).VerifySecret(c, secret) {
		t.Fatal("a hasher with another key verifies the secret")
	}
	// After a rotation the former key still verifies, as a previous key.
	rotated := oidcclient.NewHasher(key(2), key(1))
	if !rotated.VerifySecret(c, secret) {
		t.Fatal("a hash under the previous key does not verify after rotation")
	}
	if rotated.Hash(secret) == hash {
		t.Fatal("the rotated hasher hashes with the previous key")
	}
	// A public client has no secret to verify, whatever its row says.
	if h.VerifySecret(&core.OIDCClient{Public: true, SecretHash: hash}, secret) {
		t.Fatal("a public client's secret verifies")
	}
	for _, bad := range []string{"", "sha256$" + hash[len("hmac-sha256$"):], hash[:len(hash)-1], hash + "A", "hmac-sha256$!!!"} {
		if h.VerifySecret(&core.OIDCClient{SecretHash: bad}, secret) {
			t.Errorf("stored hash %q verifies", bad)
		}
		if oidcclient.CheckHash(bad) == nil {
			t.Errorf("CheckHash(%q) passes", bad)
		}
	}
}
