package core

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Prefixes of identifiers, so an id in a log says what it names.
const (
	PrefixUser         = "usr_"
	PrefixVerification = "ver_"
	PrefixSession      = "ses_"
	PrefixDevice       = "dev_"
	PrefixApproval     = "apr_"
	PrefixEnrollment   = "enr_"
	PrefixEvent        = "evt_"
	PrefixOIDCClient   = "clt_" // made by `approvald clients add`; CLIENTS_FILE names its own
	PrefixPasskey      = "pky_"
)

// NewID returns prefix + 26 characters of base32 over 128 random bits.
func NewID(prefix string) string {
	return prefix + idEncoding.EncodeToString(RandomBytes(16))
}

// NewSecret returns n random bytes as unpadded base64url: tickets, refresh
// tokens, enrollment codes.
func NewSecret(n int) string {
	return base64.RawURLEncoding.EncodeToString(RandomBytes(n))
}

// RandomBytes returns n bytes from crypto/rand (which never fails on Linux).
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return b
}

// HasPrefix reports whether id looks like one of ours of the given kind; a
// cheap filter before any lookup.
func HasPrefix(id, prefix string) bool {
	return strings.HasPrefix(id, prefix) && len(id) == len(prefix)+26
}
