-- The JWS algorithm a client's ID tokens are signed with, as it asked in
-- its registration (id_token_signed_response_alg): RS256, the one every
-- client supports, unless it asked for ES256 or EdDSA.
ALTER TABLE oidc_clients ADD COLUMN id_token_alg text NOT NULL DEFAULT 'RS256'
    CONSTRAINT oidc_clients_id_token_alg_check CHECK (id_token_alg IN ('RS256', 'ES256', 'EdDSA'));
