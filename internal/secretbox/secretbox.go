// Package secretbox seals small secrets at rest (TOTP secrets, the server's
// private keys) with AES-256-GCM.
//
// A sealed value is
//
//	version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | ciphertext+tag
//
// where the key id is the first 4 bytes of SHA-256 of the key, and the
// version byte and key id are authenticated along with the caller's aad.
//
// Key rotation: generate a new key and make it the primary, keeping the old
// ones as older keys. Seal always uses the primary; Open picks the key named
// by the sealed value, so values sealed under an old key keep opening.
// Callers may re-seal such values when they next touch them (SealedWithPrimary
// tells them apart); an old key can be dropped once nothing sealed with it
// remains.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const (
	// KeySize is the size of an AES-256 key.
	KeySize = 32

	version   = 0x01
	idSize    = 4
	nonceSize = 12
	tagSize   = 16
	header    = 1 + idSize
	overhead  = header + nonceSize + tagSize
)

var (
	// ErrMalformed is a value too short or of an unknown version.
	ErrMalformed = errors.New("secretbox: malformed sealed value")
	// ErrUnknownKey is a value sealed under a key the Box does not have.
	ErrUnknownKey = errors.New("secretbox: sealed with an unknown key")
	// ErrOpen is a value that fails authentication: tampered, or another aad.
	ErrOpen = errors.New("secretbox: message authentication failed")
)

type keyID [idSize]byte

// Box seals with its primary key and opens with any of its keys. It is safe
// for concurrent use.
type Box struct {
	primary keyID
	aeads   map[keyID]cipher.AEAD
}

// New returns a Box sealing with primary and opening with primary and older.
// Every key must be KeySize bytes.
func New(primary []byte, older ...[]byte) (*Box, error) {
	b := &Box{aeads: map[keyID]cipher.AEAD{}}
	for i, key := range append([][]byte{primary}, older...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secretbox: key %d is %d bytes, want %d", i, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secretbox: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secretbox: %w", err)
		}
		id := idOf(key)
		if i == 0 {
			b.primary = id
		}
		if _, dup := b.aeads[id]; !dup { // the same key listed twice is harmless
			b.aeads[id] = aead
		}
	}
	return b, nil
}

// Seal encrypts plaintext bound to aad (e.g. the owning row's id, so a sealed
// value cannot be moved to another row).
func (b *Box) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, header+nonceSize, overhead+len(plaintext))
	out[0] = version
	copy(out[1:header], b.primary[:])
	nonce := out[header : header+nonceSize]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	return b.aeads[b.primary].Seal(out, nonce, plaintext, additional(out[:header], aad))
}

// Open decrypts a value made by Seal with the same aad under any of the Box's
// keys.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < overhead || sealed[0] != version {
		return nil, ErrMalformed
	}
	aead, ok := b.aeads[keyID(sealed[1:header])]
	if !ok {
		return nil, ErrUnknownKey
	}
	nonce := sealed[header : header+nonceSize]
	plaintext, err := aead.Open(nil, nonce, sealed[header+nonceSize:], additional(sealed[:header], aad))
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// SealedWithPrimary reports whether sealed names the primary key, i.e.
// whether it is already in its rotated form.
func (b *Box) SealedWithPrimary(sealed []byte) bool {
	return len(sealed) >= header && sealed[0] == version && keyID(sealed[1:header]) == b.primary
}

// ParseKey reads a KeySize-byte key written in base64, standard or URL
// alphabet, padded or not. The error never repeats the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("secretbox: key is %d bytes, want %d (base64 of 32 random bytes)", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, errors.New("secretbox: key is not base64 (want base64 of 32 random bytes)")
}

func idOf(key []byte) keyID {
	sum := sha256.Sum256(key)
	return keyID(sum[:idSize])
}

// additional authenticates the header with the caller's aad, so neither the
// version nor the key id can be altered unnoticed.
func additional(hdr, aad []byte) []byte {
	return append(append(make([]byte, 0, len(hdr)+len(aad)), hdr...), aad...)
}
