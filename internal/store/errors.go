package store

import (
	"errors"
	"strings"

	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// uniqueViolation reports whether err is a unique-constraint violation of
// one of the given constraints. Each constraint is named as PostgreSQL names
// it (the index or constraint name) and as SQLite reports it: "table.column"
// for a column constraint, or the index name for an expression index.
func uniqueViolation(err error, constraints ...string) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		if pgErr.Field('C') != "23505" {
			return false
		}
		name := pgErr.Field('n')
		for _, c := range constraints {
			if name == c {
				return true
			}
		}
		return false
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		if code != sqlite3.SQLITE_CONSTRAINT_UNIQUE && code != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return false
		}
		// "UNIQUE constraint failed: users.phone" or "…: index 'name'".
		msg := liteErr.Error()
		for _, c := range constraints {
			if strings.Contains(msg, c) {
				return true
			}
		}
	}
	return false
}

// Constraints named by uniqueViolation callers: the PostgreSQL name, then
// what SQLite's message contains.
var (
	verifiedPhoneKey = []string{"users_verified_phone_key", "users.phone"}
	verifiedEmailKey = []string{"users_verified_email_key"}
	devicePublicKey  = []string{"devices_public_key_key", "devices.public_key"}
)
