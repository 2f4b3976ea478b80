-- The initial schema. Every time is timestamptz in UTC, truncated to
-- microseconds by the application.

CREATE TABLE users (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    email          text NOT NULL DEFAULT '', -- lower-cased; '' when none was given
    phone          text NOT NULL,            -- E.164
    phone_verified boolean NOT NULL DEFAULT false,
    password_hash  text NOT NULL,
    two_factor     boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- A phone or an email belongs to one verified account; unverified signups
-- may share them until one of them is verified.
CREATE UNIQUE INDEX users_verified_phone_key ON users (phone) WHERE phone_verified;
CREATE UNIQUE INDEX users_verified_email_key ON users (lower(email)) WHERE phone_verified AND email <> '';
CREATE INDEX users_phone_idx ON users (phone);
CREATE INDEX users_email_idx ON users (lower(email)) WHERE email <> '';

-- No foreign key to users: a verification outlives the pending account a
-- newer signup replaced, so its id can still answer "superseded".
CREATE TABLE verifications (
    id           text PRIMARY KEY,
    user_id      text NOT NULL,
    phone        text NOT NULL,
    code_hash    text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    status       text NOT NULL CHECK (status IN ('pending', 'verified', 'locked', 'superseded')),
    expires_at   timestamptz NOT NULL,
    last_sent_at timestamptz NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX verifications_user_id_idx ON verifications (user_id);

CREATE TABLE sessions (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr          text NOT NULL, -- space-separated methods, e.g. 'pwd push'
    auth_time    timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash       text PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    spent_at   timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    purpose     text NOT NULL,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);
-- One active key per purpose, so instances starting together agree on it.
CREATE UNIQUE INDEX signing_keys_active_purpose_key ON signing_keys (purpose) WHERE retired_at IS NULL;
CREATE INDEX signing_keys_purpose_idx ON signing_keys (purpose, created_at);

CREATE TABLE devices (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL,
    public_key      bytea NOT NULL,
    push_url        text NOT NULL DEFAULT '',
    totp_secret_enc bytea NOT NULL,
    last_totp_step  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    CONSTRAINT devices_public_key_key UNIQUE (public_key)
);
CREATE INDEX devices_user_id_idx ON devices (user_id, created_at);

CREATE TABLE enrollments (
    code_hash  text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX enrollments_user_id_idx ON enrollments (user_id);

CREATE TABLE approvals (
    id                   text PRIMARY KEY,
    user_id              text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status               text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    channel              text NOT NULL CHECK (channel IN ('push', 'sms')),
    reason               text NOT NULL DEFAULT '',
    match_number         integer NOT NULL DEFAULT 0,
    ticket_hash          text NOT NULL,
    code_hash            text NOT NULL DEFAULT '',
    code_sent_at         timestamptz,
    attempts             integer NOT NULL DEFAULT 0,
    expires_at           timestamptz NOT NULL,
    push_sent_at         timestamptz,
    timeout_announced_at timestamptz,
    decided_at           timestamptz,
    decided_by           text NOT NULL DEFAULT '',
    method               text NOT NULL DEFAULT '',
    exchanged_at         timestamptz,
    ip                   text NOT NULL DEFAULT '',
    user_agent           text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL
);
CREATE INDEX approvals_status_expires_at_idx ON approvals (status, expires_at);
CREATE INDEX approvals_user_id_status_idx ON approvals (user_id, status);
CREATE INDEX approvals_push_timeout_idx ON approvals (push_sent_at)
    WHERE status = 'pending' AND channel = 'push' AND timeout_announced_at IS NULL;
