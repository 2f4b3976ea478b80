package store

import (
	"fmt"
	"time"

	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
)

// sqliteTimeLayout is fixed-width (always six fraction digits, UTC, no zone),
// so SQLite's text comparison orders instants by construction, and the
// schema can check the width to keep any other form (bun's default trims
// the fraction and appends a zone) out of the columns.
const sqliteTimeLayout = "2006-01-02 15:04:05.000000"

// dbTime is how every time column and every time argument reaches the
// database: UTC, truncated (never rounded) to microseconds, which is what
// both databases keep, so a value read back equals the value compared in
// SQL; on SQLite written in sqliteTimeLayout. Always pass times to queries
// as dbTime: a bare time.Time would be written in bun's variable-width form
// (which SQLite's length checks in the schema reject).
type dbTime struct{ time.Time }

// ts converts t for the database.
func ts(t time.Time) dbTime { return dbTime{t.UTC().Truncate(time.Microsecond)} }

// tsPtr converts an optional time; nil stays NULL.
func tsPtr(t *time.Time) *dbTime {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// timePtr is the inverse of tsPtr.
func timePtr(t *dbTime) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

var _ schema.QueryAppender = dbTime{}

// AppendQuery writes the time as a SQL literal of the query's dialect.
func (t dbTime) AppendQuery(gen schema.QueryGen, b []byte) ([]byte, error) {
	u := t.UTC().Truncate(time.Microsecond)
	if gen.Dialect().Name() == dialect.SQLite {
		b = append(b, '\'')
		b = u.AppendFormat(b, sqliteTimeLayout)
		return append(b, '\''), nil
	}
	return gen.Dialect().AppendTime(b, u), nil
}

// Scan reads a timestamptz (PostgreSQL) or the fixed-width text (SQLite).
func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*t = ts(v)
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("store: cannot scan %T into a time", src)
	}
}

func (t *dbTime) parse(s string) error {
	v, err := time.ParseInLocation(sqliteTimeLayout, s, time.UTC)
	if err != nil {
		return fmt.Errorf("store: bad stored time %q: %w", s, err)
	}
	*t = dbTime{v}
	return nil
}
