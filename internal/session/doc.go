// Package session issues and verifies access tokens (EdDSA JWTs signed by
// a keyring.Ring of purpose jwt) and rotates refresh tokens with reuse
// detection.
package session
