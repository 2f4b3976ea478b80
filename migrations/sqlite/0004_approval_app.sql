-- The application a login signs in to through approvald (an OpenID Connect
-- client's name, shown as "Sign in to <app>"); '' for approvald itself.
ALTER TABLE approvals ADD COLUMN app_name TEXT NOT NULL DEFAULT '';
