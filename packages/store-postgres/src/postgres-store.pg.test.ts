import { readFileSync } from "node:fs";
import {
  makeDbscSessionRecord,
  makeDeviceRecord,
  raceNodeScripts,
  runStoreConformanceSuite,
} from "@devicebound/server/testing";
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

  it("upgrades a version 1 schema in place, keeping its devices, and adds DBSC sessions", async () => {
    const schema = freshSchema();
    const v1 = readFileSync(new URL("../sql/001_init.sql", import.meta.url), "utf8");
    await admin.query(v1.replaceAll(":schema", `"${schema}"`));
    const store = postgresStore({ connectionString: url, schema });
    const session = makeDbscSessionRecord();
    expect(await store.insertDbscSession(session)).toBe(true);
    expect(await store.getDbscSession(session.id)).toEqual(session);
    const { rows } = await admin.query(`SELECT version FROM "${schema}".devicebound_schema`);
    expect(rows).toEqual([{ version: 2 }]);
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
    expect(rows).toEqual([{ version: 2 }]);
    await admin.query(`UPDATE "${schema}".devicebound_schema SET version = 99`);
    const store = postgresStore({ connectionString: url, schema });
    await expect(store.listDevices("u")).rejects.toMatchObject({ code: "ERR_STORE_CORRUPT" });
    await store.close();
    expect(() => postgresStore({ connectionString: url, schema: 'x"; DROP TABLE y; --' })).toThrow(
      TypeError,
    );
    expect(() => postgresStore({} as never)).toThrow(TypeError);
  });
});
