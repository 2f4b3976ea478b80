-- A device's Web Push subscription (RFC 8030, RFC 8291), beside or instead
-- of push_url: the push service's endpoint ('' for none), the
-- subscription's P-256 public key (65 bytes) and its 16-byte auth secret.
ALTER TABLE devices ADD COLUMN web_push_endpoint text NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN web_push_p256dh bytea NOT NULL DEFAULT ''::bytea;
ALTER TABLE devices ADD COLUMN web_push_auth bytea NOT NULL DEFAULT ''::bytea;
