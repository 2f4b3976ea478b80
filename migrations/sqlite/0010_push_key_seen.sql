-- The kid of the newest push key each device has confirmed (its signed
-- requests carry ?push_kid=); '' for a device that never said. A rotated
-- push key signs early once every device has confirmed it.
ALTER TABLE devices ADD COLUMN push_key_seen TEXT NOT NULL DEFAULT '';
