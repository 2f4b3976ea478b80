// Package webpush sends Web Push messages: the payload encrypted with
// aes128gcm (RFC 8291, on RFC 8188's content coding) and the request
// authenticated with a VAPID ES256 token (RFC 8292). It is the adapter of
// the approval service's WebPusher, beside internal/push for push URLs.
package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of RFC 8291's keys and of RFC 8188's header.
const (
	AuthSecretSize = 16 // the subscription's auth secret
	saltSize       = 16
	publicKeySize  = 65 // an uncompressed P-256 point
	tagSize        = 16
	// headerSize is salt, record size, key id length and the key id
	// (the sender's public key).
	headerSize = saltSize + 4 + 1 + publicKeySize
	// RecordSize is the one record a message is sent in: 4096 bytes of
	// body, what every push service must accept (RFC 8030 §7.2).
	RecordSize = 4096 - headerSize
	// MaxPayload is the longest plaintext one record holds: the record
	// less the padding delimiter and the tag.
	MaxPayload = RecordSize - 1 - tagSize
)

// ErrTooLarge is returned for a payload longer than MaxPayload.
var ErrTooLarge = errors.New("webpush: payload longer than one 4096-byte record")

// Encrypt returns the aes128gcm body of plaintext for the subscription's
// p256dh key (uaPublic, 65 bytes) and auth secret, with a fresh salt and a
// fresh sender key pair.
func Encrypt(plaintext, uaPublic, authSecret []byte) ([]byte, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return encrypt(plaintext, uaPublic, authSecret, salt, as, RecordSize)
}

// encrypt is Encrypt with the salt, the sender's key and the record size
// given, so RFC 8291's example can be reproduced byte for byte. The
// plaintext travels in one record, without padding.
func encrypt(plaintext, uaPublic, authSecret, salt []byte, as *ecdh.PrivateKey, rs uint32) ([]byte, error) {
	if len(authSecret) != AuthSecretSize {
		return nil, fmt.Errorf("webpush: auth secret has %d bytes, want %d", len(authSecret), AuthSecretSize)
	}
	if len(plaintext)+1+tagSize > int(rs) {
		return nil, ErrTooLarge
	}
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh is not a P-256 point: %w", err)
	}
	asPublic := as.PublicKey().Bytes()
	shared, err := as.ECDH(ua)
	if err != nil {
		return nil, fmt.Errorf("webpush: ecdh: %w", err)
	}
	gcm, nonce, err := contentKeys(shared, authSecret, uaPublic, asPublic, salt)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, headerSize+len(plaintext)+1+tagSize)
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, rs)
	out = append(out, byte(len(asPublic)))
	out = append(out, asPublic...)
	record := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), 0x02) // the last record's delimiter
	return gcm.Seal(out, nonce, record, nil), nil
}

// contentKeys derive RFC 8291 §3.4's IKM from the shared secret and the
// auth secret, then RFC 8188 §2.2's content-encryption key and nonce (the
// first record's: its sequence number is 0).
func contentKeys(shared, authSecret, uaPublic, asPublic, salt []byte) (cipher.AEAD, []byte, error) {
	keyInfo := make([]byte, 0, 14+2*publicKeySize)
	keyInfo = append(keyInfo, "WebPush: info\x00"...)
	keyInfo = append(keyInfo, uaPublic...)
	keyInfo = append(keyInfo, asPublic...)
	ikm, err := hkdf.Key(sha256.New, shared, authSecret, string(keyInfo), 32)
	if err != nil {
		return nil, nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	return gcm, nonce, nil
}

// Decrypt opens an aes128gcm body of one record for the subscription's
// private key and auth secret: what a browser (or a test push service)
// does.
func Decrypt(body []byte, ua *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	if len(body) < saltSize+5 {
		return nil, errors.New("webpush: body shorter than its header")
	}
	salt := body[:saltSize]
	rs := binary.BigEndian.Uint32(body[saltSize:])
	idLen := int(body[saltSize+4])
	rest := body[saltSize+5:]
	if idLen != publicKeySize || len(rest) < idLen+tagSize+1 {
		return nil, errors.New("webpush: malformed header")
	}
	asPublic, ciphertext := rest[:idLen], rest[idLen:]
	if len(ciphertext) > int(rs) {
		return nil, errors.New("webpush: more than one record")
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("webpush: key id is not a P-256 point: %w", err)
	}
	shared, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	gcm, nonce, err := contentKeys(shared, authSecret, ua.PublicKey().Bytes(), asPublic, salt)
	if err != nil {
		return nil, err
	}
	record, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, errors.New("webpush: cannot decrypt")
	}
	// Strip the padding: zeros after the delimiter, which must be 0x02.
	i := len(record) - 1
	for i >= 0 && record[i] == 0 {
		i--
	}
	if i < 0 || record[i] != 0x02 {
		return nil, errors.New("webpush: no last-record delimiter")
	}
	return record[:i], nil
}
