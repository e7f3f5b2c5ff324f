// A DeviceStore + ReplayStore in one SQLite file (better-sqlite3, WAL). Every read-modify-write
// runs in a BEGIN IMMEDIATE transaction, so it is atomic across threads and processes too.
import {
  type DbscSession,
  type DbscSessionStore,
  type Device,
  DeviceBindingError,
  type DeviceLimit,
  type DeviceListQuery,
  type DevicePatch,
  type DeviceStore,
  type InsertDeviceResult,
  isDeviceBindingError,
  type ReplayStore,
} from "@devicebound/server";
import Database from "better-sqlite3";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";

export interface SqliteStoreOptions {
  /** Path of the database file (created when missing). Ignored when `database` is given. */
  filename?: string;
  /** An open better-sqlite3 database; the store never closes it. */
  database?: Database.Database;
}

export type SqliteStore = DeviceStore &
  ReplayStore &
  DbscSessionStore & {
    close(): Promise<void>;
    devicesVersion(): number;
    readonly database: Database.Database;
  };

interface Row {
  id: string;
  user_id: string;
  jkt: string;
  public_jwk: string;
  alg: string;
  status: string;
  display_name: string;
  created_at_ms: number;
  last_seen_at_ms: number;
  user_agent: string | null;
  metadata: string;
}

const SWEEP_EVERY = 1024;
// Replay records are swept a slice of the primary key at a time, one slice every
// REPLAY_SWEEP_EVERY records: a full pass takes (table size / 4) records, so at most a third
// more rows than are live are ever kept, with no index beyond the key to maintain.
const REPLAY_SWEEP_EVERY = 64;
const REPLAY_SWEEP_SLICE = 256;

// ---- DBSC sessions ----
interface DbscRow {
  id: string;
  user_id: string;
  device_id: string;
  status: string;
  alg: string | null;
  public_jwk: string | null;
  created_at_ms: number;
  refreshed_at_ms: number | null;
  end_reason: string | null;
  expires_at_ms: number;
  version: number;
}

function toDbscSession(row: DbscRow): DbscSession {
  try {
    return {
      id: row.id,
      userId: row.user_id,
      deviceId: row.device_id,
      status: row.status as DbscSession["status"],
      alg: row.alg as DbscSession["alg"],
      publicJwk: row.public_jwk === null ? null : JSON.parse(row.public_jwk),
      createdAt: new Date(row.created_at_ms),
      refreshedAt: row.refreshed_at_ms === null ? null : new Date(row.refreshed_at_ms),
      endReason: row.end_reason,
      expiresAt: new Date(row.expires_at_ms),
      version: row.version,
    };
  } catch (cause) {
    throw new DeviceBindingError("ERR_STORE_CORRUPT", "A stored DBSC session could not be read", {
      cause,
    });
  }
}
// ---- end DBSC sessions ----

function toDevice(row: Row): Device {
  try {
    return {
      id: row.id,
      userId: row.user_id,
      jkt: row.jkt,
      publicJwk: JSON.parse(row.public_jwk),
      alg: row.alg as Device["alg"],
      status: row.status as Device["status"],
      displayName: row.display_name,
      createdAt: new Date(row.created_at_ms),
      lastSeenAt: new Date(row.last_seen_at_ms),
      userAgent: row.user_agent,
      metadata: JSON.parse(row.metadata),
    };
  } catch (cause) {
    throw new DeviceBindingError("ERR_STORE_CORRUPT", "A stored device could not be read", {
      cause,
    });
  }
}

function migrate(db: Database.Database): void {
  db.exec("CREATE TABLE IF NOT EXISTS devicebound_schema (version INTEGER NOT NULL)");
  db.transaction(() => {
    const row = db.prepare("SELECT version FROM devicebound_schema").get() as
      | { version: number }
      | undefined;
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new DeviceBindingError(
        "ERR_STORE_CORRUPT",
        `The database schema (version ${current}) is newer than this adapter (${SCHEMA_VERSION})`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    if (row === undefined)
      db.prepare("INSERT INTO devicebound_schema (version) VALUES (?)").run(SCHEMA_VERSION);
    else if (current !== SCHEMA_VERSION)
      db.prepare("UPDATE devicebound_schema SET version = ?").run(SCHEMA_VERSION);
  }).immediate();
}

/** Runs `fn`, turning SQLite's own errors into typed ones. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (isDeviceBindingError(cause)) throw cause;
    const code = (cause as { code?: string }).code ?? "";
    const corrupt = code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB";
    throw new DeviceBindingError(
      corrupt ? "ERR_STORE_CORRUPT" : "ERR_STORE_UNAVAILABLE",
      corrupt ? "The SQLite database is corrupt" : "The SQLite database could not be used",
      { cause, details: { sqliteCode: code } },
    );
  }
}

// better-sqlite3 loads its native addon on the first `new Database()`. pnpm 10 skips dependency
// build scripts unless approved, and an addon built for another Node fails to load: both surface
// as a message about bindings, so name the fix instead of a generic store failure.
const ADDON_MISSING = /bindings file|NODE_MODULE_VERSION|better_sqlite3\.node/;

function openDatabase(filename: string): Database.Database {
  try {
    return new Database(filename);
  } catch (cause) {
    if (!(cause instanceof Error) || !ADDON_MISSING.test(cause.message)) throw cause;
    throw new DeviceBindingError(
      "ERR_STORE_UNAVAILABLE",
      "better-sqlite3's native addon is not built for this Node.js. With pnpm 10, approve its build " +
        "(`pnpm approve-builds`, or list better-sqlite3 in `onlyBuiltDependencies`) and run " +
        "`pnpm rebuild better-sqlite3`; with npm, run `npm rebuild better-sqlite3`.",
      { cause, details: { reason: "native-addon-missing" } },
    );
  }
}

export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  if (
    typeof options !== "object" ||
    options === null ||
    (!options.database && typeof options.filename !== "string")
  ) {
    throw new TypeError("sqliteStore needs { filename } or { database }");
  }
  const owned = !options.database;
  const db = guard(() => options.database ?? openDatabase(options.filename as string));
  let closed = false;
  guard(() => {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    migrate(db);
  });

  const q = {
    byId: db.prepare("SELECT * FROM devicebound_devices WHERE user_id = ? AND id = ?"),
    byJkt: db.prepare("SELECT * FROM devicebound_devices WHERE user_id = ? AND jkt = ?"),
    list: db.prepare(
      "SELECT * FROM devicebound_devices WHERE user_id = ? ORDER BY created_at_ms, id",
    ),
    // Blocked devices neither count toward a limit nor are evicted (see DeviceLimit).
    countActive: db.prepare(
      "SELECT count(*) AS n FROM devicebound_devices WHERE user_id = ? AND status = 'active'",
    ),
    oldestSeen: db.prepare(
      `SELECT * FROM devicebound_devices WHERE user_id = ? AND status = 'active'
       ORDER BY last_seen_at_ms, created_at_ms, id LIMIT ?`,
    ),
    insert: db.prepare(
      `INSERT INTO devicebound_devices (id, user_id, jkt, public_jwk, alg, status, display_name,
         created_at_ms, last_seen_at_ms, user_agent, metadata)
       VALUES (@id, @user_id, @jkt, @public_jwk, @alg, @status, @display_name,
         @created_at_ms, @last_seen_at_ms, @user_agent, @metadata)`,
    ),
    update: db.prepare(
      `UPDATE devicebound_devices SET
         display_name = coalesce(@display_name, display_name),
         metadata = coalesce(@metadata, metadata),
         status = coalesce(@status, status),
         last_seen_at_ms = coalesce(@last_seen_at_ms, last_seen_at_ms)
       WHERE user_id = @user_id AND id = @id`,
    ),
    delete: db.prepare("DELETE FROM devicebound_devices WHERE user_id = ? AND id = ?"),
    consume: db.prepare(
      `INSERT INTO devicebound_replay (key, expires_at_ms) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
       WHERE devicebound_replay.expires_at_ms <= ?`,
    ),
    sweepBound: db
      .prepare(
        `SELECT key FROM devicebound_replay WHERE key > ? ORDER BY key
         LIMIT 1 OFFSET ${REPLAY_SWEEP_SLICE - 1}`,
      )
      .pluck(),
    sweepSlice: db.prepare(
      "DELETE FROM devicebound_replay WHERE key > ? AND key <= ? AND expires_at_ms <= ?",
    ),
    sweepTail: db.prepare("DELETE FROM devicebound_replay WHERE key > ? AND expires_at_ms <= ?"),
    devicesVersion: db
      .prepare("SELECT version FROM devicebound_devices_version WHERE id = 1")
      .pluck(),
    byJktAllUsers: db.prepare(
      "SELECT * FROM devicebound_devices WHERE jkt = ? ORDER BY created_at_ms, id",
    ),
    count: db.prepare("SELECT count(*) AS n FROM devicebound_devices WHERE user_id = ?"),
    // ---- DBSC sessions ----
    // An expired session's id may be taken again: the insert replaces only an expired row.
    dbscInsert: db.prepare(
      `INSERT INTO devicebound_dbsc_sessions (id, user_id, device_id, status, alg, public_jwk,
         created_at_ms, refreshed_at_ms, end_reason, expires_at_ms, version)
       VALUES (@id, @user_id, @device_id, @status, @alg, @public_jwk,
         @created_at_ms, @refreshed_at_ms, @end_reason, @expires_at_ms, @version)
       ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, device_id = excluded.device_id,
         status = excluded.status, alg = excluded.alg, public_jwk = excluded.public_jwk,
         created_at_ms = excluded.created_at_ms, refreshed_at_ms = excluded.refreshed_at_ms,
         end_reason = excluded.end_reason, expires_at_ms = excluded.expires_at_ms,
         version = excluded.version
       WHERE devicebound_dbsc_sessions.expires_at_ms <= @now`,
    ),
    dbscGet: db.prepare(
      "SELECT * FROM devicebound_dbsc_sessions WHERE id = ? AND expires_at_ms > ?",
    ),
    dbscUpdate: db.prepare(
      `UPDATE devicebound_dbsc_sessions SET
         status = coalesce(@status, status),
         alg = coalesce(@alg, alg),
         public_jwk = coalesce(@public_jwk, public_jwk),
         refreshed_at_ms = coalesce(@refreshed_at_ms, refreshed_at_ms),
         end_reason = CASE WHEN @set_end_reason THEN @end_reason ELSE end_reason END,
         expires_at_ms = coalesce(@expires_at_ms, expires_at_ms),
         version = version + 1
       WHERE id = @id AND version = @expected AND expires_at_ms > @now
       RETURNING *`,
    ),
    dbscList: db.prepare(
      `SELECT * FROM devicebound_dbsc_sessions
       WHERE user_id = ? AND device_id = ? AND expires_at_ms > ? ORDER BY created_at_ms, id`,
    ),
    dbscSweep: db.prepare("DELETE FROM devicebound_dbsc_sessions WHERE expires_at_ms <= ?"),
    // ---- end DBSC sessions ----
  };
  // One statement per combination of filters, so each gets the plan of its own index.
  const pages = new Map<string, Database.Statement>();
  function pageStatement(query: DeviceListQuery): Database.Statement {
    const where: string[] = [];
    if (query.after) where.push("(created_at_ms, id) > (@after_ms, @after_id)");
    if (query.status !== undefined) where.push("status = @status");
    if (query.userId !== undefined) where.push("user_id = @user_id");
    // SQLite's lower() folds ASCII letters only, which is the contract's rule; instr() takes
    // the text literally, so % and _ need no escaping.
    if (query.query !== undefined)
      where.push("(instr(lower(user_id), @text) > 0 OR instr(lower(display_name), @text) > 0)");
    const sql = `SELECT * FROM devicebound_devices ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at_ms, id LIMIT @limit`;
    let statement = pages.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      pages.set(sql, statement);
    }
    return statement;
  }
  let dbscInserts = 0;
  let replayRecords = 0;
  // Where the next replay sweep slice starts: the last key of the previous one ("" = the start).
  let sweptUpTo = "";
  function sweepReplay(nowMs: number): void {
    const bound = q.sweepBound.get(sweptUpTo) as string | undefined;
    if (bound === undefined) {
      q.sweepTail.run(sweptUpTo, nowMs);
      sweptUpTo = "";
    } else {
      q.sweepSlice.run(sweptUpTo, bound, nowMs);
      sweptUpTo = bound;
    }
  }

  const insertTx = db.transaction(
    (device: Device, limit: DeviceLimit | undefined): InsertDeviceResult => {
      const existing = q.byJkt.get(device.userId, device.jkt) as Row | undefined;
      if (existing) return { outcome: "existing", device: toDevice(existing) };
      const evicted: Device[] = [];
      if (limit) {
        const { n } = q.countActive.get(device.userId) as { n: number };
        if (n >= limit.maxDevices) {
          if (limit.onLimit === "reject") return { outcome: "limit" };
          for (const row of q.oldestSeen.all(device.userId, n - limit.maxDevices + 1) as Row[]) {
            q.delete.run(device.userId, row.id);
            evicted.push(toDevice(row));
          }
        }
      }
      q.insert.run({
        id: device.id,
        user_id: device.userId,
        jkt: device.jkt,
        public_jwk: JSON.stringify(device.publicJwk),
        alg: device.alg,
        status: device.status,
        display_name: device.displayName,
        created_at_ms: device.createdAt.getTime(),
        last_seen_at_ms: device.lastSeenAt.getTime(),
        user_agent: device.userAgent,
        metadata: JSON.stringify(device.metadata),
      });
      return {
        outcome: "created",
        device: toDevice(q.byId.get(device.userId, device.id) as Row),
        evicted,
      };
    },
  );

  const updateTx = db.transaction((userId: string, deviceId: string, patch: DevicePatch) => {
    const result = q.update.run({
      user_id: userId,
      id: deviceId,
      display_name: patch.displayName ?? null,
      metadata: patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
      status: patch.status ?? null,
      last_seen_at_ms: patch.lastSeenAt?.getTime() ?? null,
    });
    if (result.changes === 0) return null;
    return toDevice(q.byId.get(userId, deviceId) as Row);
  });

  const open = () => {
    if (closed) throw new DeviceBindingError("ERR_STORE_UNAVAILABLE", "The SQLite store is closed");
  };

  return {
    database: db,
    async insertDevice(device, limit) {
      open();
      return guard(() => insertTx.immediate(device, limit));
    },
    async getDevice(userId, deviceId) {
      open();
      const row = guard(() => q.byId.get(userId, deviceId) as Row | undefined);
      return row ? toDevice(row) : null;
    },
    async getDeviceByJkt(userId, jkt) {
      open();
      const row = guard(() => q.byJkt.get(userId, jkt) as Row | undefined);
      return row ? toDevice(row) : null;
    },
    async listDevices(userId) {
      open();
      return guard(() => (q.list.all(userId) as Row[]).map(toDevice));
    },
    async updateDevice(userId, deviceId, patch) {
      open();
      return guard(() => updateTx.immediate(userId, deviceId, patch));
    },
    async deleteDevice(userId, deviceId) {
      open();
      return guard(() => q.delete.run(userId, deviceId).changes > 0);
    },
    devicesVersion() {
      open();
      return guard(() => q.devicesVersion.get() as number);
    },
    async findDevicesByJkt(jkt) {
      open();
      return guard(() => (q.byJktAllUsers.all(jkt) as Row[]).map(toDevice));
    },
    async countDevices(userId) {
      open();
      return guard(() => (q.count.get(userId) as { n: number }).n);
    },
    async listAllDevices(query) {
      open();
      return guard(() => {
        const rows = pageStatement(query).all({
          limit: query.limit,
          ...(query.after ? { after_ms: query.after.createdAtMs, after_id: query.after.id } : {}),
          ...(query.status === undefined ? {} : { status: query.status }),
          ...(query.userId === undefined ? {} : { user_id: query.userId }),
          ...(query.query === undefined
            ? {}
            : { text: query.query.replace(/[A-Z]/g, (c) => c.toLowerCase()) }),
        }) as Row[];
        return rows.map(toDevice);
      });
    },
    async consume(key, expiresAtMs) {
      open();
      const nowMs = Date.now();
      // A record that would already be expired cannot promise "once": refuse, never record it.
      if (!(expiresAtMs > nowMs)) return false;
      return guard(() => {
        if (++replayRecords % REPLAY_SWEEP_EVERY === 0) sweepReplay(nowMs);
        return q.consume.run(key, Math.ceil(expiresAtMs), nowMs).changes === 1;
      });
    },
    // ---- DBSC sessions ----
    async insertDbscSession(session) {
      open();
      const nowMs = Date.now();
      return guard(() => {
        if (++dbscInserts % SWEEP_EVERY === 0) q.dbscSweep.run(nowMs);
        return (
          q.dbscInsert.run({
            id: session.id,
            user_id: session.userId,
            device_id: session.deviceId,
            status: session.status,
            alg: session.alg,
            public_jwk: session.publicJwk === null ? null : JSON.stringify(session.publicJwk),
            created_at_ms: session.createdAt.getTime(),
            refreshed_at_ms: session.refreshedAt?.getTime() ?? null,
            end_reason: session.endReason,
            expires_at_ms: session.expiresAt.getTime(),
            version: session.version,
            now: nowMs,
          }).changes === 1
        );
      });
    },
    async getDbscSession(sessionId) {
      open();
      const row = guard(() => q.dbscGet.get(sessionId, Date.now()) as DbscRow | undefined);
      return row ? toDbscSession(row) : null;
    },
    async updateDbscSession(sessionId, expectedVersion, patch) {
      open();
      const row = guard(
        () =>
          q.dbscUpdate.get({
            id: sessionId,
            expected: expectedVersion,
            now: Date.now(),
            status: patch.status ?? null,
            alg: patch.alg ?? null,
            public_jwk: patch.publicJwk === undefined ? null : JSON.stringify(patch.publicJwk),
            refreshed_at_ms: patch.refreshedAt?.getTime() ?? null,
            set_end_reason: patch.endReason === undefined ? 0 : 1,
            end_reason: patch.endReason ?? null,
            expires_at_ms: patch.expiresAt?.getTime() ?? null,
          }) as DbscRow | undefined,
      );
      return row ? toDbscSession(row) : null;
    },
    async listDbscSessions(userId, deviceId) {
      open();
      return guard(() =>
        (q.dbscList.all(userId, deviceId, Date.now()) as DbscRow[]).map(toDbscSession),
      );
    },
    // ---- end DBSC sessions ----
    async close() {
      if (closed) return;
      closed = true;
      if (owned) db.close();
    },
  };
}
