-- The audit trail: what happened to an account, when, from where.
CREATE TABLE security_events (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL CHECK (length(created_at) = 26)
) STRICT;
CREATE INDEX security_events_user_idx ON security_events (user_id, created_at DESC);
