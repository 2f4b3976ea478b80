// Package keyring keeps the server's persisted Ed25519 signing keys, one
// Ring per purpose (access tokens, pushes to devices): generated on first
// start and agreed on by every instance, sealed at rest, rotated, and
// published as a JWKS.
package keyring
