-- Passkeys (WebAuthn discoverable credentials) a user registered: a
-- complete login of their own. credential_id is the authenticator's id
-- (unique: one credential, one account), public_key its COSE key, sign_count
-- the last signature counter seen (0 for synced passkeys, which never count),
-- backup_eligible/backup_state the BE and BS flags.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB NOT NULL,
    public_key      BLOB NOT NULL,
    aaguid          BLOB NOT NULL,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    backup_eligible INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
    backup_state    INTEGER NOT NULL CHECK (backup_state IN (0, 1)),
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL CHECK (length(created_at) = 26),
    last_used_at    TEXT CHECK (length(last_used_at) = 26),
    CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id)
) STRICT;
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id, created_at);
