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
  // 5: a devices version, moved by triggers on every insert, delete and change of a device but
  // its last_seen_at_ms, whoever writes (this adapter in any process, or plain SQL). The
  // registry keeps the devices it reads while the version stays the same (devicesVersion).
  `CREATE TABLE devicebound_devices_version (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     version INTEGER NOT NULL
   );
   INSERT INTO devicebound_devices_version (id, version) VALUES (1, 0);
   CREATE TRIGGER devicebound_devices_inserted AFTER INSERT ON devicebound_devices BEGIN
     UPDATE devicebound_devices_version SET version = version + 1 WHERE id = 1;
   END;
   CREATE TRIGGER devicebound_devices_deleted AFTER DELETE ON devicebound_devices BEGIN
     UPDATE devicebound_devices_version SET version = version + 1 WHERE id = 1;
   END;
   CREATE TRIGGER devicebound_devices_changed AFTER UPDATE ON devicebound_devices
   WHEN NOT (OLD.id IS NEW.id AND OLD.user_id IS NEW.user_id AND OLD.jkt IS NEW.jkt
     AND OLD.public_jwk IS NEW.public_jwk AND OLD.alg IS NEW.alg AND OLD.status IS NEW.status
     AND OLD.display_name IS NEW.display_name AND OLD.created_at_ms IS NEW.created_at_ms
     AND OLD.user_agent IS NEW.user_agent AND OLD.metadata IS NEW.metadata)
   BEGIN
     UPDATE devicebound_devices_version SET version = version + 1 WHERE id = 1;
   END;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
