-- A device's Web Push subscription (RFC 8030, RFC 8291), beside or instead
-- of push_url: the push service's endpoint ('' for none), the
-- subscription's P-256 public key (65 bytes) and its 16-byte auth secret.
ALTER TABLE devices ADD COLUMN web_push_endpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN web_push_p256dh BLOB NOT NULL DEFAULT x'';
ALTER TABLE devices ADD COLUMN web_push_auth BLOB NOT NULL DEFAULT x'';
