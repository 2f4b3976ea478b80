-- The initial schema. Times are TEXT in the fixed-width UTC form
-- 'YYYY-MM-DD HH:MM:SS.ffffff' (26 characters), so comparing the text
-- compares the instants; the length checks keep any other form out.
-- Booleans are 0/1 integers.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '', -- lower-cased; '' when none was given
    phone          TEXT NOT NULL,            -- E.164
    phone_verified INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    password_hash  TEXT NOT NULL,
    two_factor     INTEGER NOT NULL DEFAULT 0 CHECK (two_factor IN (0, 1)),
    created_at     TEXT NOT NULL CHECK (length(created_at) = 26),
    updated_at     TEXT NOT NULL CHECK (length(updated_at) = 26)
) STRICT;
-- A phone or an email belongs to one verified account; unverified signups
-- may share them until one of them is verified.
CREATE UNIQUE INDEX users_verified_phone_key ON users (phone) WHERE phone_verified;
CREATE UNIQUE INDEX users_verified_email_key ON users (lower(email)) WHERE phone_verified AND email <> '';
CREATE INDEX users_phone_idx ON users (phone);
CREATE INDEX users_email_idx ON users (lower(email)) WHERE email <> '';

-- No foreign key to users: a verification outlives the pending account a
-- newer signup replaced, so its id can still answer "superseded".
CREATE TABLE verifications (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    phone        TEXT NOT NULL,
    code_hash    TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'locked', 'superseded')),
    expires_at   TEXT NOT NULL CHECK (length(expires_at) = 26),
    last_sent_at TEXT NOT NULL CHECK (length(last_sent_at) = 26),
    created_at   TEXT NOT NULL CHECK (length(created_at) = 26)
) STRICT;
CREATE INDEX verifications_user_id_idx ON verifications (user_id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr          TEXT NOT NULL, -- space-separated methods, e.g. 'pwd push'
    auth_time    TEXT NOT NULL CHECK (length(auth_time) = 26),
    created_at   TEXT NOT NULL CHECK (length(created_at) = 26),
    last_used_at TEXT NOT NULL CHECK (length(last_used_at) = 26),
    expires_at   TEXT NOT NULL CHECK (length(expires_at) = 26),
    revoked_at   TEXT CHECK (length(revoked_at) = 26)
) STRICT;
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL CHECK (length(created_at) = 26),
    spent_at   TEXT CHECK (length(spent_at) = 26)
) STRICT;
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  TEXT NOT NULL CHECK (length(created_at) = 26),
    retired_at  TEXT CHECK (length(retired_at) = 26)
) STRICT;
-- One active key per purpose, so instances starting together agree on it.
CREATE UNIQUE INDEX signing_keys_active_purpose_key ON signing_keys (purpose) WHERE retired_at IS NULL;
CREATE INDEX signing_keys_purpose_idx ON signing_keys (purpose, created_at);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    public_key      BLOB NOT NULL,
    push_url        TEXT NOT NULL DEFAULT '',
    totp_secret_enc BLOB NOT NULL,
    last_totp_step  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL CHECK (length(created_at) = 26),
    last_used_at    TEXT CHECK (length(last_used_at) = 26),
    CONSTRAINT devices_public_key_key UNIQUE (public_key)
) STRICT;
CREATE INDEX devices_user_id_idx ON devices (user_id, created_at);

CREATE TABLE enrollments (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL CHECK (length(expires_at) = 26),
    used_at    TEXT CHECK (length(used_at) = 26),
    created_at TEXT NOT NULL CHECK (length(created_at) = 26)
) STRICT;
CREATE INDEX enrollments_user_id_idx ON enrollments (user_id);

CREATE TABLE approvals (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    channel              TEXT NOT NULL CHECK (channel IN ('push', 'sms')),
    reason               TEXT NOT NULL DEFAULT '',
    match_number         INTEGER NOT NULL DEFAULT 0,
    ticket_hash          TEXT NOT NULL,
    code_hash            TEXT NOT NULL DEFAULT '',
    code_sent_at         TEXT CHECK (length(code_sent_at) = 26),
    attempts             INTEGER NOT NULL DEFAULT 0,
    expires_at           TEXT NOT NULL CHECK (length(expires_at) = 26),
    push_sent_at         TEXT CHECK (length(push_sent_at) = 26),
    timeout_announced_at TEXT CHECK (length(timeout_announced_at) = 26),
    decided_at           TEXT CHECK (length(decided_at) = 26),
    decided_by           TEXT NOT NULL DEFAULT '',
    method               TEXT NOT NULL DEFAULT '',
    exchanged_at         TEXT CHECK (length(exchanged_at) = 26),
    ip                   TEXT NOT NULL DEFAULT '',
    user_agent           TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL CHECK (length(created_at) = 26)
) STRICT;
CREATE INDEX approvals_status_expires_at_idx ON approvals (status, expires_at);
CREATE INDEX approvals_user_id_status_idx ON approvals (user_id, status);
CREATE INDEX approvals_push_timeout_idx ON approvals (push_sent_at)
    WHERE status = 'pending' AND channel = 'push' AND timeout_announced_at IS NULL;
