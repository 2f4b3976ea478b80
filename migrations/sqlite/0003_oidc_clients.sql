-- OpenID Connect clients (relying parties). A client comes from the CLI
-- (approvald clients add) or from CLIENTS_FILE, which owns its own and
-- never touches the others. The secret is kept only as its hash; a public
-- client has none.
CREATE TABLE oidc_clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public      INTEGER NOT NULL CHECK (public IN (0, 1)),
    secret_hash TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL CHECK (source IN ('cli', 'file')),
    created_at  TEXT NOT NULL CHECK (length(created_at) = 26),
    CHECK (public = (secret_hash = ''))
) STRICT;

-- A client's redirect URIs (kind 'redirect') and post-logout redirect URIs
-- ('post_logout'), in the order given; a URI is compared exactly, so the
-- primary key finds it.
CREATE TABLE oidc_client_uris (
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('redirect', 'post_logout')),
    uri       TEXT NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (client_id, kind, uri),
    UNIQUE (client_id, kind, position)
) STRICT;
