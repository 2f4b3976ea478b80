-- Passkeys (WebAuthn discoverable credentials) a user registered: a
-- complete login of their own. credential_id is the authenticator's id
-- (unique: one credential, one account), public_key its COSE key, sign_count
-- the last signature counter seen (0 for synced passkeys, which never count),
-- backup_eligible/backup_state the BE and BS flags.
CREATE TABLE passkeys (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   bytea NOT NULL,
    public_key      bytea NOT NULL,
    aaguid          bytea NOT NULL,
    sign_count      bigint NOT NULL DEFAULT 0,
    backup_eligible boolean NOT NULL,
    backup_state    boolean NOT NULL,
    name            text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id)
);
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id, created_at);
