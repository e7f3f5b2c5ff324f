-- devicebound schema, version 3: DBSC sessions, keyed by session id. `version` is the
-- compare-and-set counter every update checks and raises. :schema as in 001_init.sql.
CREATE TABLE IF NOT EXISTS :schema.devicebound_dbsc_sessions (
  id              text PRIMARY KEY,
  user_id         text NOT NULL,
  device_id       text NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'active', 'ended')),
  alg             text,
  public_jwk      jsonb,
  created_at_ms   bigint NOT NULL,
  refreshed_at_ms bigint,
  end_reason      text,
  expires_at_ms   bigint NOT NULL,
  version         integer NOT NULL
);
CREATE INDEX IF NOT EXISTS devicebound_dbsc_sessions_by_device
  ON :schema.devicebound_dbsc_sessions (user_id, device_id, created_at_ms, id);
CREATE INDEX IF NOT EXISTS devicebound_dbsc_sessions_by_expiry
  ON :schema.devicebound_dbsc_sessions (expires_at_ms);
