// Package session issues and verifies access tokens (EdDSA JWTs whose keys
// are published as a JWKS), rotates refresh tokens with reuse detection, and
// keeps the server's persisted signing keys (Keyring), which the approval
// loop reuses to sign pushes.
package session
