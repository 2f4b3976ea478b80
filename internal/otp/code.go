// Package otp makes and checks one-time codes: the 6-digit codes sent by SMS
// (stored only as keyed hashes bound to their flow) and TOTP codes from the
// authenticator app (RFC 6238).
package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
)

// CodeDigits is the length of every code, SMS and TOTP alike.
const CodeDigits = 6

var codeSpace = big.NewInt(1_000_000)

// NewCode returns a uniformly random 6-digit code, leading zeros kept.
func NewCode() string {
	n, err := rand.Int(rand.Reader, codeSpace)
	if err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// CodeHasher hashes SMS codes with a server key, so a leaked database row
// does not give away a code (a bare hash of 10^6 codes is brute-forced
// instantly).
type CodeHasher struct {
	key []byte
}

// NewCodeHasher returns a CodeHasher keyed with key (at least 32 random bytes
// in production).
func NewCodeHasher(key []byte) *CodeHasher {
	return &CodeHasher{key: append([]byte(nil), key...)}
}

// Hash returns hex HMAC-SHA256(key, scope + "\x00" + code). scope is the id
// of the verification or approval, so a code only works for its own flow.
func (h *CodeHasher) Hash(scope, code string) string {
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(scope))
	mac.Write([]byte{0})
	mac.Write([]byte(code))
	return hex.EncodeToString(mac.Sum(nil))
}

// Equal reports, in constant time, whether hash is the hash of code in scope.
func (h *CodeHasher) Equal(hash, scope, code string) bool {
	return subtle.ConstantTimeCompare([]byte(hash), []byte(h.Hash(scope, code))) == 1
}
