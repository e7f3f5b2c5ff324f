import { raceNodeScripts } from "@devicebound/server/testing";
import {
  makeDbscSessionRecord,
  makeDeviceRecord,
  runStoreConformanceSuite,
} from "@devicebound/server/testing/conformance";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "./migrate.js";
import { postgresStore } from "./postgres-store.js";

const url = process.env.DEVICEBOUND_TEST_PG_URL;
if (!url) {
  throw new Error(
    "DEVICEBOUND_TEST_PG_URL is not set: run through `npm test` or `bash scripts/dev.sh services -- ...`",
  );
}
const admin = new pg.Pool({ connectionString: url, max: 2 });
const schemas: string[] = [];
const freshSchema = () => {
  const name = `t_${process.pid}_${schemas.length}_${Math.random().toString(36).slice(2, 8)}`;
  schemas.push(name);
  return name;
};
afterAll(async () => {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
});

runStoreConformanceSuite({
  name: "postgres",
  createStore: () => postgresStore({ connectionString: url, schema: freshSchema() }),
});

describe("postgresStore", () => {
  it("accepts a jti once when two processes consume it at the same moment", async () => {
    const schema = freshSchema();
    await migrate(admin, { schema });
    const results = await raceNodeScripts(new URL("./test-child.mjs", import.meta.url), [
      url,
      schema,
      "jti:shared",
    ]);
    expect(results.sort()).toEqual([false, true]);
  });

  it("keeps data across close and reopen, and never ends a pool it was given", async () => {
    const schema = freshSchema();
    const first = postgresStore({ connectionString: url, schema });
    const device = makeDeviceRecord();
    await first.insertDevice(device);
    await first.close();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const second = postgresStore({ pool, schema });
    expect(await second.getDevice(device.userId, device.id)).toEqual(device);
    await second.close();
    expect((await pool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    await expect(second.listDevices("u")).rejects.toMatchObject({ code: "ERR_STORE_UNAVAILABLE" });
    await pool.end();
  });

  it("fails closed with ERR_STORE_UNAVAILABLE when the server cannot be reached", async () => {
    const store = postgresStore({ connectionString: "postgres://postgres@127.0.0.1:1/none" });
    await expect(store.consume("k", Date.now() + 1000)).rejects.toMatchObject({
      code: "ERR_STORE_UNAVAILABLE",
    });
    await store.close();
  });

  it("migrates concurrently, records its version, and refuses a newer schema", async () => {
    const schema = freshSchema();
    await Promise.all([
      migrate(admin, { schema }),
      migrate(admin, { schema }),
      migrate(admin, { schema }),
    ]);
    const { rows } = await admin.query(`SELECT version FROM "${schema}".devicebound_schema`);
    expect(rows).toEqual([{ version: 3 }]);
    await admin.query(`UPDATE "${schema}".devicebound_schema SET version = 99`);
    const store = postgresStore({ connectionString: url, schema });
    await expect(store.listDevices("u")).rejects.toMatchObject({ code: "ERR_STORE_CORRUPT" });
    await store.close();
    expect(() => postgresStore({ connectionString: url, schema: 'x"; DROP TABLE y; --' })).toThrow(
      TypeError,
    );
    expect(() => postgresStore({} as never)).toThrow(TypeError);
  });

  it("upgrades a version 1 schema in place, keeping its devices, and adds DBSC sessions", async () => {
    const schema = freshSchema();
    const old = postgresStore({ connectionString: url, schema });
    const device = makeDeviceRecord({ userId: "old-user" });
    await old.insertDevice(device);
    await old.close();
    // Back to what version 1 left: its tables and rows, none of version 2's indexes, no version
    // 3 DBSC sessions.
    for (const index of ["by_jkt", "by_created", "by_status"])
      await admin.query(`DROP INDEX "${schema}".devicebound_devices_${index}`);
    await admin.query(`DROP TABLE "${schema}".devicebound_dbsc_sessions`);
    await admin.query(`UPDATE "${schema}".devicebound_schema SET version = 1`);
    const store = postgresStore({ connectionString: url, schema });
    expect(await store.findDevicesByJkt(device.jkt)).toEqual([device]);
    expect(await store.listAllDevices({ limit: 5 })).toEqual([device]);
    const session = makeDbscSessionRecord();
    expect(await store.insertDbscSession(session)).toBe(true);
    expect(await store.getDbscSession(session.id)).toEqual(session);
    const { rows } = await admin.query(`SELECT version FROM "${schema}".devicebound_schema`);
    expect(rows).toEqual([{ version: 3 }]);
    const { rowCount } = await admin.query(
      "SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'devicebound_devices_by_%'",
      [schema],
    );
    expect(rowCount).toBe(4);
    await store.close();
  });

  it("serves every all-users page and key lookup from an index in order, never sorting", async () => {
    const schema = freshSchema();
    await migrate(admin, { schema });
    const client = await admin.connect();
    try {
      // With no rows the planner would pick a scan and sort anyway: rule those out, to see what
      // the indexes can serve. A Sort node would mean a page costs more the deeper it is.
      await client.query("SET enable_seqscan = off");
      await client.query("SET enable_bitmapscan = off");
      const table = `"${schema}".devicebound_devices`;
      const page = (where: string) =>
        `SELECT * FROM ${table} ${where} ORDER BY created_at_ms, id COLLATE "C" LIMIT 50`;
      const after = `(created_at_ms, id COLLATE "C") > (1, 'x')`;
      for (const [sql, index] of [
        [page(`WHERE ${after}`), "devicebound_devices_by_created"],
        [page(`WHERE ${after} AND status = 'blocked'`), "devicebound_devices_by_status"],
        [page(""), "devicebound_devices_by_created"],
        [
          `SELECT * FROM ${table} WHERE jkt = 'k' ORDER BY created_at_ms, id COLLATE "C"`,
          "devicebound_devices_by_jkt",
        ],
      ] as const) {
        const { rows } = await client.query(`EXPLAIN ${sql}`);
        const plan = rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
        expect(plan, sql).toContain(index);
        expect(plan, sql).not.toMatch(/Sort|Seq Scan/);
        if (sql.includes(after)) expect(plan, sql).toMatch(/Index Cond: .*ROW\(created_at_ms, /);
      }
    } finally {
      client.release();
    }
  });
});
