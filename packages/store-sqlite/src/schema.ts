// The schema, as numbered migrations applied in order and recorded in a version table.

export const MIGRATIONS: readonly string[] = [
  // 1: devices and replay records.
  `CREATE TABLE devicebound_devices (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     jkt TEXT NOT NULL,
     public_jwk TEXT NOT NULL,
     alg TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('active', 'blocked')),
     display_name TEXT NOT NULL,
     created_at_ms INTEGER NOT NULL,
     last_seen_at_ms INTEGER NOT NULL,
     user_agent TEXT,
     metadata TEXT NOT NULL,
     UNIQUE (user_id, jkt)
   );
   CREATE INDEX devicebound_devices_by_user ON devicebound_devices (user_id, created_at_ms, id);
   CREATE TABLE devicebound_replay (
     key TEXT PRIMARY KEY,
     expires_at_ms INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX devicebound_replay_by_expiry ON devicebound_replay (expires_at_ms);`,
  // 2: the all-users views: recognize (by key), and the administrators' keyset pages, in
  // (created_at_ms, id) order, unfiltered or by status (by user uses devicebound_devices_by_user).
  `CREATE INDEX devicebound_devices_by_jkt ON devicebound_devices (jkt, created_at_ms, id);
   CREATE INDEX devicebound_devices_by_created ON devicebound_devices (created_at_ms, id);
   CREATE INDEX devicebound_devices_by_status ON devicebound_devices (status, created_at_ms, id);`,
  // 3: DBSC sessions, keyed by session id; `version` is the compare-and-set counter.
  `CREATE TABLE devicebound_dbsc_sessions (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     device_id TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'ended')),
     alg TEXT,
     public_jwk TEXT,
     created_at_ms INTEGER NOT NULL,
     refreshed_at_ms INTEGER,
     end_reason TEXT,
     expires_at_ms INTEGER NOT NULL,
     version INTEGER NOT NULL
   );
   CREATE INDEX devicebound_dbsc_sessions_by_device
     ON devicebound_dbsc_sessions (user_id, device_id, created_at_ms, id);
   CREATE INDEX devicebound_dbsc_sessions_by_expiry ON devicebound_dbsc_sessions (expires_at_ms);`,
  // 4: replay records lose their expiry index. It made every recorded proof write a second
  // B-tree (about 20 µs of a guarded request); expired records are now swept by walking the
  // primary key a slice at a time (see sweepStep in sqlite-store.ts).
  "DROP INDEX IF EXISTS devicebound_replay_by_expiry;",
];

export const SCHEMA_VERSION = MIGRATIONS.length;
