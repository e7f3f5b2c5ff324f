-- devicebound schema, version 2: the all-users views. recognize reads devices by key; the
-- administrators' keyset pages read (created_at_ms, id) order, unfiltered or by status (by user
-- they use devicebound_devices_by_user). Ids compare bytewise (COLLATE "C"), as in every store.
-- On a large table, create these by hand first with CREATE INDEX CONCURRENTLY (same names):
-- this file then finds them and only records the version.
CREATE INDEX IF NOT EXISTS devicebound_devices_by_jkt
  ON :schema.devicebound_devices (jkt, created_at_ms, id COLLATE "C");
CREATE INDEX IF NOT EXISTS devicebound_devices_by_created
  ON :schema.devicebound_devices (created_at_ms, id COLLATE "C");
CREATE INDEX IF NOT EXISTS devicebound_devices_by_status
  ON :schema.devicebound_devices (status, created_at_ms, id COLLATE "C");
