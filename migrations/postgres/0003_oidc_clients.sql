-- OpenID Connect clients (relying parties). A client comes from the CLI
-- (approvald clients add) or from CLIENTS_FILE, which owns its own and
-- never touches the others. The secret is kept only as its hash; a public
-- client has none.
CREATE TABLE oidc_clients (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    public      boolean NOT NULL,
    secret_hash text NOT NULL DEFAULT '',
    source      text NOT NULL CHECK (source IN ('cli', 'file')),
    created_at  timestamptz NOT NULL,
    CONSTRAINT oidc_clients_secret_check CHECK (public = (secret_hash = ''))
);

-- A client's redirect URIs (kind 'redirect') and post-logout redirect URIs
-- ('post_logout'), in the order given; a URI is compared exactly, so the
-- primary key finds it.
CREATE TABLE oidc_client_uris (
    client_id text NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('redirect', 'post_logout')),
    uri       text NOT NULL,
    position  integer NOT NULL,
    PRIMARY KEY (client_id, kind, uri),
    CONSTRAINT oidc_client_uris_position_key UNIQUE (client_id, kind, position)
);
