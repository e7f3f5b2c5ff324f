// A DeviceStore + ReplayStore on PostgreSQL, for a fleet of servers: unique (user, jkt) with
// INSERT ... ON CONFLICT, the device limit under a per-user advisory lock, and atomic replay
// records with one upsert.
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
import pg from "pg";
import { migrate, quoteIdent } from "./migrate.js";

export type PostgresStoreOptions = (
  | { connectionString: string; pool?: undefined }
  | { pool: pg.Pool; connectionString?: undefined }
) & {
  /** Schema holding the tables. Default "public". */
  schema?: string;
  /** Create or upgrade the tables on first use. Default true; set false if you run sql/ yourself. */
  migrate?: boolean;
};

export type PostgresStore = DeviceStore &
  ReplayStore &
  DbscSessionStore & { close(): Promise<void>; readonly pool: pg.Pool };

interface Row {
  id: string;
  user_id: string;
  jkt: string;
  public_jwk: Device["publicJwk"];
  alg: string;
  status: string;
  display_name: string;
  created_at_ms: string;
  last_seen_at_ms: string;
  user_agent: string | null;
  metadata: Device["metadata"];
}

const SWEEP_EVERY = 1024;

// ---- DBSC sessions ----
interface DbscRow {
  id: string;
  user_id: string;
  device_id: string;
  status: string;
  alg: string | null;
  public_jwk: DbscSession["publicJwk"];
  created_at_ms: string;
  refreshed_at_ms: string | null;
  end_reason: string | null;
  expires_at_ms: string;
  version: number;
}

function toDbscSession(row: DbscRow): DbscSession {
  return {
    id: row.id,
    userId: row.user_id,
    deviceId: row.device_id,
    status: row.status as DbscSession["status"],
    alg: row.alg as DbscSession["alg"],
    publicJwk: row.public_jwk,
    createdAt: new Date(Number(row.created_at_ms)),
    refreshedAt: row.refreshed_at_ms === null ? null : new Date(Number(row.refreshed_at_ms)),
    endReason: row.end_reason,
    expiresAt: new Date(Number(row.expires_at_ms)),
    version: row.version,
  };
}
// ---- end DBSC sessions ----

function toDevice(row: Row): Device {
  return {
    id: row.id,
    userId: row.user_id,
    jkt: row.jkt,
    publicJwk: row.public_jwk,
    alg: row.alg as Device["alg"],
    status: row.status as Device["status"],
    displayName: row.display_name,
    createdAt: new Date(Number(row.created_at_ms)),
    lastSeenAt: new Date(Number(row.last_seen_at_ms)),
    userAgent: row.user_agent,
    metadata: row.metadata,
  };
}

export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  if (
    typeof options !== "object" ||
    options === null ||
    (!options.pool && typeof options.connectionString !== "string")
  ) {
    throw new TypeError("postgresStore needs { connectionString } or { pool }");
  }
  const owned = !options.pool;
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: 10 });
  if (owned) pool.on("error", () => {}); // idle-client errors surface on the next query instead
  const schema = options.schema ?? "public";
  const devices = `${quoteIdent(schema)}.devicebound_devices`;
  const replay = `${quoteIdent(schema)}.devicebound_replay`;
  const dbscSessions = `${quoteIdent(schema)}.devicebound_dbsc_sessions`;
  let ready: Promise<void> | null = options.migrate === false ? Promise.resolve() : null;
  let closed = false;
  let consumes = 0;

  async function run<T>(fn: () => Promise<T>): Promise<T> {
    if (closed)
      throw new DeviceBindingError("ERR_STORE_UNAVAILABLE", "The PostgreSQL store is closed");
    try {
      if (!ready) {
        ready = migrate(pool, { schema });
        ready.catch(() => {
          ready = null; // retry the migration on the next call
        });
      }
      await ready;
      return await fn();
    } catch (cause) {
      if (isDeviceBindingError(cause)) throw cause;
      throw new DeviceBindingError("ERR_STORE_UNAVAILABLE", "PostgreSQL could not be used", {
        cause,
        details: { pgCode: (cause as { code?: string }).code ?? null },
      });
    }
  }

  const insertSql = `INSERT INTO ${devices} (id, user_id, jkt, public_jwk, alg, status, display_name,
      created_at_ms, last_seen_at_ms, user_agent, metadata)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (user_id, jkt) DO NOTHING RETURNING *`;
  const insertParams = (d: Device) => [
    d.id,
    d.userId,
    d.jkt,
    JSON.stringify(d.publicJwk),
    d.alg,
    d.status,
    d.displayName,
    d.createdAt.getTime(),
    d.lastSeenAt.getTime(),
    d.userAgent,
    JSON.stringify(d.metadata),
  ];
  const byJktSql = `SELECT * FROM ${devices} WHERE user_id = $1 AND jkt = $2`;

  async function insertWithLimit(device: Device, limit: DeviceLimit): Promise<InsertDeviceResult> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      // Serialises inserts per user, so counting and evicting cannot interleave.
      await client.query(
        "SELECT pg_advisory_xact_lock(hashtext('devicebound:user'), hashtext($1))",
        [device.userId],
      );
      const existing = await client.query<Row>(byJktSql, [device.userId, device.jkt]);
      if (existing.rows[0]) {
        await client.query("COMMIT");
        return { outcome: "existing", device: toDevice(existing.rows[0]) };
      }
      const { rows: all } = await client.query<Row>(
        // Blocked devices neither count toward a limit nor are evicted (see DeviceLimit).
        `SELECT * FROM ${devices} WHERE user_id = $1 AND status = 'active'
         ORDER BY last_seen_at_ms, created_at_ms, id`,
        [device.userId],
      );
      const evicted: Device[] = [];
      if (all.length >= limit.maxDevices) {
        if (limit.onLimit === "reject") {
          await client.query("COMMIT");
          return { outcome: "limit" };
        }
        const victims = all.slice(0, all.length - limit.maxDevices + 1);
        await client.query(`DELETE FROM ${devices} WHERE user_id = $1 AND id = ANY($2)`, [
          device.userId,
          victims.map((v) => v.id),
        ]);
        evicted.push(...victims.map(toDevice));
      }
      const inserted = await client.query<Row>(insertSql, insertParams(device));
      await client.query("COMMIT");
      return { outcome: "created", device: toDevice(inserted.rows[0] as Row), evicted };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  // Ids order bytewise (COLLATE "C") whatever the database's collation, as in every store and
  // as the indexes of sql/002 are built. translate() folds ASCII letters only, the contract's
  // rule (lower() would follow the collation), and strpos() takes the text literally.
  const order = `ORDER BY created_at_ms, id COLLATE "C"`;
  const foldAscii = (column: string) =>
    `translate(${column}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')`;

  function pageQuery(query: DeviceListQuery): { text: string; values: unknown[] } {
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const where: string[] = [];
    if (query.after) {
      where.push(
        `(created_at_ms, id COLLATE "C") > (${param(query.after.createdAtMs)}, ${param(query.after.id)})`,
      );
    }
    if (query.status !== undefined) where.push(`status = ${param(query.status)}`);
    if (query.userId !== undefined) where.push(`user_id = ${param(query.userId)}`);
    if (query.query !== undefined) {
      const text = param(query.query.replace(/[A-Z]/g, (c) => c.toLowerCase()));
      where.push(
        `(strpos(${foldAscii("user_id")}, ${text}) > 0 OR strpos(${foldAscii("display_name")}, ${text}) > 0)`,
      );
    }
    const filter = where.length ? `WHERE ${where.join(" AND ")}` : "";
    return {
      text: `SELECT * FROM ${devices} ${filter} ${order} LIMIT ${param(query.limit)}`,
      values,
    };
  }

  return {
    pool,
    insertDevice(device, limit) {
      return run(async () => {
        if (limit) return insertWithLimit(device, limit);
        for (;;) {
          const inserted = await pool.query<Row>(insertSql, insertParams(device));
          if (inserted.rows[0])
            return { outcome: "created", device: toDevice(inserted.rows[0]), evicted: [] };
          const existing = await pool.query<Row>(byJktSql, [device.userId, device.jkt]);
          // The conflicting row may have been deleted in between: then try again.
          if (existing.rows[0]) return { outcome: "existing", device: toDevice(existing.rows[0]) };
        }
      });
    },
    getDevice(userId, deviceId) {
      return run(async () => {
        const { rows } = await pool.query<Row>(
          `SELECT * FROM ${devices} WHERE user_id = $1 AND id = $2`,
          [userId, deviceId],
        );
        return rows[0] ? toDevice(rows[0]) : null;
      });
    },
    getDeviceByJkt(userId, jkt) {
      return run(async () => {
        const { rows } = await pool.query<Row>(byJktSql, [userId, jkt]);
        return rows[0] ? toDevice(rows[0]) : null;
      });
    },
    listDevices(userId) {
      return run(async () => {
        const { rows } = await pool.query<Row>(
          `SELECT * FROM ${devices} WHERE user_id = $1 ${order}`,
          [userId],
        );
        return rows.map(toDevice);
      });
    },
    updateDevice(userId, deviceId, patch: DevicePatch) {
      return run(async () => {
        const { rows } = await pool.query<Row>(
          `UPDATE ${devices} SET
             display_name = coalesce($3, display_name),
             metadata = coalesce($4::jsonb, metadata),
             status = coalesce($5, status),
             last_seen_at_ms = coalesce($6, last_seen_at_ms)
           WHERE user_id = $1 AND id = $2 RETURNING *`,
          [
            userId,
            deviceId,
            patch.displayName ?? null,
            patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
            patch.status ?? null,
            patch.lastSeenAt?.getTime() ?? null,
          ],
        );
        return rows[0] ? toDevice(rows[0]) : null;
      });
    },
    deleteDevice(userId, deviceId) {
      return run(async () => {
        const result = await pool.query(`DELETE FROM ${devices} WHERE user_id = $1 AND id = $2`, [
          userId,
          deviceId,
        ]);
        return (result.rowCount ?? 0) > 0;
      });
    },
    findDevicesByJkt(jkt) {
      return run(async () => {
        const { rows } = await pool.query<Row>(`SELECT * FROM ${devices} WHERE jkt = $1 ${order}`, [
          jkt,
        ]);
        return rows.map(toDevice);
      });
    },
    countDevices(userId) {
      return run(async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${devices} WHERE user_id = $1`,
          [userId],
        );
        return rows[0]?.n ?? 0;
      });
    },
    listAllDevices(query) {
      return run(async () => (await pool.query<Row>(pageQuery(query))).rows.map(toDevice));
    },
    consume(key, expiresAtMs) {
      const nowMs = Date.now();
      // A record that would already be expired cannot promise "once": refuse, never record it.
      if (!(expiresAtMs > nowMs)) return Promise.resolve(false);
      return run(async () => {
        if (++consumes % SWEEP_EVERY === 0) {
          await pool.query(`DELETE FROM ${replay} WHERE expires_at_ms <= $1`, [nowMs]);
        }
        const result = await pool.query(
          `INSERT INTO ${replay} (key, expires_at_ms) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET expires_at_ms = EXCLUDED.expires_at_ms
           WHERE ${replay}.expires_at_ms <= $3`,
          [key, Math.ceil(expiresAtMs), nowMs],
        );
        return result.rowCount === 1;
      });
    },
    // ---- DBSC sessions ----
    insertDbscSession(session) {
      return run(async () => {
        const nowMs = Date.now();
        if (++consumes % SWEEP_EVERY === 0) {
          await pool.query(`DELETE FROM ${dbscSessions} WHERE expires_at_ms <= $1`, [nowMs]);
        }
        // An expired session's id may be taken again: only an expired row is replaced.
        const result = await pool.query(
          `INSERT INTO ${dbscSessions} (id, user_id, device_id, status, alg, public_jwk,
             created_at_ms, refreshed_at_ms, end_reason, expires_at_ms, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id,
             device_id = EXCLUDED.device_id, status = EXCLUDED.status, alg = EXCLUDED.alg,
             public_jwk = EXCLUDED.public_jwk, created_at_ms = EXCLUDED.created_at_ms,
             refreshed_at_ms = EXCLUDED.refreshed_at_ms, end_reason = EXCLUDED.end_reason,
             expires_at_ms = EXCLUDED.expires_at_ms, version = EXCLUDED.version
           WHERE ${dbscSessions}.expires_at_ms <= $12`,
          [
            session.id,
            session.userId,
            session.deviceId,
            session.status,
            session.alg,
            session.publicJwk === null ? null : JSON.stringify(session.publicJwk),
            session.createdAt.getTime(),
            session.refreshedAt?.getTime() ?? null,
            session.endReason,
            session.expiresAt.getTime(),
            session.version,
            nowMs,
          ],
        );
        return result.rowCount === 1;
      });
    },
    getDbscSession(sessionId) {
      return run(async () => {
        const { rows } = await pool.query<DbscRow>(
          `SELECT * FROM ${dbscSessions} WHERE id = $1 AND expires_at_ms > $2`,
          [sessionId, Date.now()],
        );
        return rows[0] ? toDbscSession(rows[0]) : null;
      });
    },
    updateDbscSession(sessionId, expectedVersion, patch) {
      return run(async () => {
        const { rows } = await pool.query<DbscRow>(
          `UPDATE ${dbscSessions} SET
             status = coalesce($4, status),
             alg = coalesce($5, alg),
             public_jwk = coalesce($6::jsonb, public_jwk),
             refreshed_at_ms = coalesce($7, refreshed_at_ms),
             end_reason = CASE WHEN $8::boolean THEN $9 ELSE end_reason END,
             expires_at_ms = coalesce($10, expires_at_ms),
             version = version + 1
           WHERE id = $1 AND version = $2 AND expires_at_ms > $3 RETURNING *`,
          [
            sessionId,
            expectedVersion,
            Date.now(),
            patch.status ?? null,
            patch.alg ?? null,
            patch.publicJwk === undefined ? null : JSON.stringify(patch.publicJwk),
            patch.refreshedAt?.getTime() ?? null,
            patch.endReason !== undefined,
            patch.endReason ?? null,
            patch.expiresAt?.getTime() ?? null,
          ],
        );
        return rows[0] ? toDbscSession(rows[0]) : null;
      });
    },
    listDbscSessions(userId, deviceId) {
      return run(async () => {
        const { rows } = await pool.query<DbscRow>(
          `SELECT * FROM ${dbscSessions} WHERE user_id = $1 AND device_id = $2
             AND expires_at_ms > $3 ORDER BY created_at_ms, id`,
          [userId, deviceId, Date.now()],
        );
        return rows.map(toDbscSession);
      });
    },
    // ---- end DBSC sessions ----
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
}
