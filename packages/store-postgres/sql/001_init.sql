-- devicebound schema, version 1. `postgresStore` runs this itself (see migrate()); apply it by
-- hand if you manage migrations yourself. :schema is the schema name ("public" by default).
CREATE SCHEMA IF NOT EXISTS :schema;

CREATE TABLE IF NOT EXISTS :schema.devicebound_devices (
  id              text PRIMARY KEY,
  user_id         text NOT NULL,
  jkt             text NOT NULL,
  public_jwk      jsonb NOT NULL,
  alg             text NOT NULL,
  status          text NOT NULL CHECK (status IN ('active', 'blocked')),
  display_name    text NOT NULL,
  created_at_ms   bigint NOT NULL,
  last_seen_at_ms bigint NOT NULL,
  user_agent      text,
  metadata        jsonb NOT NULL,
  CONSTRAINT devicebound_devices_user_jkt UNIQUE (user_id, jkt)
);
CREATE INDEX IF NOT EXISTS devicebound_devices_by_user
  ON :schema.devicebound_devices (user_id, created_at_ms, id);

CREATE TABLE IF NOT EXISTS :schema.devicebound_replay (
  key           text PRIMARY KEY,
  expires_at_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS devicebound_replay_by_expiry
  ON :schema.devicebound_replay (expires_at_ms);

CREATE TABLE IF NOT EXISTS :schema.devicebound_schema (version integer NOT NULL);
INSERT INTO :schema.devicebound_schema (version)
  SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM :schema.devicebound_schema);
