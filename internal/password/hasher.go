package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/approvald/approvald/internal/core"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// maxBcryptCost bounds imported bcrypt hashes: each step doubles the work,
// and cost 15, 32 times bcrypt's default of 10, already holds a core for
// longer than a login should take (BENCHMARKS.md has the figure).
const maxBcryptCost = 15

// Hasher implements core.PasswordHasher. Every hash and verification holds
// one slot of a semaphore, so a flood of logins queues instead of allocating
// Memory KiB per request without bound.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string // a hash nobody's password matches, with the current params

	// inside, when set by a test, runs while a slot is held.
	inside func()
}

var _ core.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher producing hashes with params (zero fields take
// DefaultParams' values) and running at most concurrency of them at once
// (GOMAXPROCS when concurrency <= 0).
func New(params Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	params = params.withDefaults()
	dummy := argonHash{params: params, salt: randomBytes(params.SaltLen), key: randomBytes(params.KeyLen)}
	return &Hasher{params: params, slots: make(chan struct{}, concurrency), dummy: dummy.String()}
}

// Hash returns a fresh Argon2id PHC string for password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := randomBytes(h.params.SaltLen)
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return argonHash{params: h.params, salt: salt, key: key}.String(), nil
}

// Verify checks password against an Argon2id or bcrypt hash. rehash is true
// when the password matched but the hash is bcrypt or has other parameters
// than the Hasher's. A hash it cannot read gives ErrMalformedHash.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2id(ctx, password, encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return h.verifyBcrypt(ctx, password, encoded)
	default:
		return false, false, fmt.Errorf("%w: unknown algorithm", ErrMalformedHash)
	}
}

// Dummy spends the time of one verification, so an unknown user answers as
// slowly as a known one, and fails when the hasher is overloaded as
// Verify would.
func (h *Hasher) Dummy(ctx context.Context, password string) error {
	_, _, err := h.verifyArgon2id(ctx, password, h.dummy)
	return err
}

func (h *Hasher) verifyArgon2id(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	stored, err := parseArgon2id(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	p := stored.params
	key := argon2.IDKey([]byte(password), stored.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(key, stored.key) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

func (h *Hasher) verifyBcrypt(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, false, fmt.Errorf("%w: bad bcrypt hash", ErrMalformedHash)
	}
	if cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	// CompareHashAndPassword compares in constant time.
	switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: bad bcrypt hash", ErrMalformedHash)
	}
}

// acquire takes a slot, or gives up when ctx ends first: the caller is then
// told the hasher is unavailable (overloaded), not that the password is wrong.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return core.Unavailable("password hasher", ctx.Err())
	}
	if h.inside != nil {
		h.inside()
	}
	return nil
}

func (h *Hasher) release() { <-h.slots }

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return b
}
