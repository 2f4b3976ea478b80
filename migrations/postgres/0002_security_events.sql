-- The audit trail: what happened to an account, when, from where.
CREATE TABLE security_events (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    detail     text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX security_events_user_idx ON security_events (user_id, created_at DESC);
