package session

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/approvald/approvald/internal/core"
)

// refreshTokenBytes is the randomness of a refresh token (256 bits).
const refreshTokenBytes = 32

func newRefreshToken() string { return core.NewSecret(refreshTokenBytes) }

// hashRefreshToken is how a refresh token is stored and looked up: hex
// SHA-256 of its text. A fast hash suffices for 256 random bits.
func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
