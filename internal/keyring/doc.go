// Package keyring keeps the server's persisted signing keys, one Ring per
// purpose (access tokens and pushes to devices: Ed25519; OpenID Connect ID
// tokens: RSA for RS256, ECDSA P-256 for ES256 and Ed25519 for EdDSA, a
// ring each): generated on first start and agreed on by every instance,
// sealed at rest, rotated, and published as a JWKS. The push keys rotate
// in steps (RotatePushKey): devices pin them, and learn each new one from a
// statement the old one signs (Announcement).
package keyring
