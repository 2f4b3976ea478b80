package oidcclient

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/approvald/approvald/internal/core"
)

// hashPrefix names the scheme of a stored secret hash, so another can
// follow it.
const hashPrefix = "hmac-sha256$"

// Hasher hashes client secrets: HMAC-SHA-256 keyed with a subkey of
// SECRET_KEY, written "hmac-sha256$" + unpadded base64url.
//
// Not a slow hash (Argon2id, as passwords have): slowness only makes
// guessing a weak secret costlier, and a secret of 256 random bits
// (NewSecret) cannot be guessed at any speed, while a slow hash would cost
// CPU on every token request. Not bare SHA-256 either: keyed with a secret
// that lives outside the database, a copy of the database (or of a
// CLIENTS_FILE holding hashes) cannot test a single guess, which protects
// the secrets an operator chose (client_secret_env) rather than us. The
// cost is that a hash is tied to SECRET_KEY: after a rotation the hashes
// made under the former key keep verifying through SECRET_KEYS_PREVIOUS.
type Hasher struct {
	keys [][]byte // the current key, then the previous ones
}

// NewHasher returns a Hasher that hashes with key and verifies with key
// and previous.
func NewHasher(key []byte, previous ...[]byte) *Hasher {
	return &Hasher{keys: append([][]byte{key}, previous...)}
}

// Hash returns secret's hash under the current key.
func (h *Hasher) Hash(secret string) string {
	return hashPrefix + base64.RawURLEncoding.EncodeToString(mac(h.keys[0], secret))
}

// VerifySecret reports whether secret is c's: false for a public client
// and for an empty secret. The MAC is compared in constant time, under
// every key, whichever matches.
func (h *Hasher) VerifySecret(c *core.OIDCClient, secret string) bool {
	if c.Public || secret == "" {
		return false
	}
	want, ok := parseHash(c.SecretHash)
	if !ok {
		return false
	}
	match := 0
	for _, k := range h.keys {
		match |= subtle.ConstantTimeCompare(mac(k, secret), want)
	}
	return match == 1
}

// CheckHash checks the form of a secret hash CLIENTS_FILE gives (whether
// it is the hash of anything is known only when a secret is presented).
func CheckHash(hash string) error {
	if _, ok := parseHash(hash); !ok {
		return invalid(FieldSecret, "client_secret_hash is not a hash from `approvald clients hash-secret`")
	}
	return nil
}

func parseHash(hash string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(hash, hashPrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	return b, err == nil && len(b) == sha256.Size
}

func mac(key []byte, secret string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}
