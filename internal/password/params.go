// Package password hashes passwords with Argon2id in PHC string form and
// verifies them, including bcrypt hashes imported from elsewhere, which are
// flagged for rehashing so they upgrade on the next successful login.
package password

// Params are the Argon2id cost parameters of new hashes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's minimum recommendation for Argon2id
// (m=19 MiB, t=2, p=1): every login pays for one hash, so no more than is
// safe (BENCHMARKS.md has the time a hash takes).
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// withDefaults fills zero fields from DefaultParams, so argon2 never sees a
// zero cost (it panics on t=0 or p=0).
func (p Params) withDefaults() Params {
	if p.Memory == 0 {
		p.Memory = DefaultParams.Memory
	}
	if p.Time == 0 {
		p.Time = DefaultParams.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultParams.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultParams.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultParams.KeyLen
	}
	return p
}
