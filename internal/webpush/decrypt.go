// Package webpush sends Web Push messages: the payload encrypted with
// aes128gcm (RFC 8291, on RFC 8188's content coding) and the request
// authenticated with a VAPID ES256 token (RFC 8292), both by
// github.com/SherClockHolmes/webpush-go. It is the adapter of the approval
// service's WebPusher, beside internal/push for push URLs. Decrypt, the
// receiving half, is for the test push service and the load harness.
package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
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
)

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
