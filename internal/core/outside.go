package core

import (
	"context"
)

// SMSSender delivers a text message to an E.164 number. An error means it
// was not sent and is never reported as sent.
type SMSSender interface {
	Send(ctx context.Context, to, body string) error
}

// PasswordHasher hashes and verifies passwords in PHC string form.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// should be replaced by a fresh hash (its parameters are outdated).
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
	// Dummy spends the time of one verification, for unknown users.
	Dummy(ctx context.Context, password string)
}
