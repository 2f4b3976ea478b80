// Package signing is the request-signing scheme of the HTTP API (the
// X-Signature headers): Ed25519 over a canonical string. The server,
// the CLI authenticator and the load harness all use it, so they agree by
// construction. It does no I/O; nonce replay is checked by the caller.
package signing

import (
	"crypto/sha256"
	"encoding/hex"
)

// Version is the first line of every canonical string; a new scheme gets a
// new version so old signatures can never be read as new ones.
const Version = "approvald-sig-v1"

// Canonical returns the bytes that are signed:
//
//	Version \n METHOD \n PATH_WITH_QUERY \n deviceID \n timestamp \n nonce \n hex(sha256(body))
//
// pathWithQuery is the path as the sender addressed it, with the raw query if
// any; deviceID is "" on server → device requests.
func Canonical(method, pathWithQuery, deviceID, timestamp, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	n := len(Version) + len(method) + len(pathWithQuery) + len(deviceID) + len(timestamp) + len(nonce) + 6 + hex.EncodedLen(len(sum))
	b := make([]byte, 0, n)
	for _, field := range []string{Version, method, pathWithQuery, deviceID, timestamp, nonce} {
		b = append(b, field...)
		b = append(b, '\n')
	}
	return hex.AppendEncode(b, sum[:])
}
