package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash is returned for a stored hash that cannot be parsed or
// uses an unsupported algorithm or unreasonable parameters.
var ErrMalformedHash = errors.New("password: malformed or unsupported hash")

// Upper bounds on parameters read from a stored hash, so a corrupted or
// hostile hash cannot make one verification allocate gigabytes or run for
// minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 128
)

// b64 is the PHC encoding: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// argonHash is a parsed $argon2id$ PHC string.
type argonHash struct {
	params Params
	salt   []byte
	key    []byte
}

func (h argonHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parseArgon2id parses `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
func parseArgon2id(encoded string) (argonHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argonHash{}, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return argonHash{}, fmt.Errorf("%w: unsupported argon2 version", ErrMalformedHash)
	}
	var p Params
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) {
		return argonHash{}, fmt.Errorf("%w: bad parameters", ErrMalformedHash)
	}
	if p.Time < 1 || p.Time > maxTime || threads < 1 || threads > 255 ||
		p.Memory < 8*threads || p.Memory > maxMemoryKiB {
		return argonHash{}, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	p.Threads = uint8(threads)
	salt, err := decodeB64(parts[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return argonHash{}, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	key, err := decodeB64(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return argonHash{}, fmt.Errorf("%w: bad hash", ErrMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return argonHash{params: p, salt: salt, key: key}, nil
}

// decodeB64 accepts the unpadded form PHC prescribes, and tolerates padding
// some other implementations write.
func decodeB64(s string) ([]byte, error) {
	return b64.DecodeString(strings.TrimRight(s, "="))
}
