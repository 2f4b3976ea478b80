-- A session may belong to an OpenID Connect client: its tokens were issued
-- to that application (client_id), for the scopes it was granted (space-
-- separated). '' is approvald's own session (its pages and API). "Log out
-- everywhere" revokes both kinds, being by user.
ALTER TABLE sessions ADD COLUMN client_id text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scopes text NOT NULL DEFAULT '';
CREATE INDEX sessions_user_client_idx ON sessions (user_id, client_id) WHERE client_id <> '';
