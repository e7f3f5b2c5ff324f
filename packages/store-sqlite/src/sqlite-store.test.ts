import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDeviceBinding } from "@devicebound/server";
import { createTestDevice, lastJsonLine, spawnNodeScript } from "@devicebound/server/testing";
import {
  makeDbscSessionRecord,
  makeDeviceRecord,
  runStoreConformanceSuite,
} from "@devicebound/server/testing/conformance";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { sqliteStore } from "./sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "devicebound-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `store-${++files}.db`);

runStoreConformanceSuite({
  name: "sqlite",
  createStore: () => sqliteStore({ filename: freshFile() }),
  devicesVersion: true,
});

const CHILD = new URL("./test-child.mjs", import.meta.url);
const child = (action: string, filename: string, arg = "") =>
  spawnNodeScript(CHILD, [action, filename, arg]);

/** Counts the store's device-row reads by key from now on. */
function spyOnDeviceReads(store: { getDeviceByJkt: (...args: never[]) => unknown }) {
  let reads = 0;
  const read = store.getDeviceByJkt;
  store.getDeviceByJkt = (...args) => {
    reads++;
    return read.apply(store, args);
  };
  return () => reads;
}

describe("sqliteStore", () => {
  it("keeps data across close and reopen", async () => {
    const filename = freshFile();
    const first = sqliteStore({ filename });
    const device = makeDeviceRecord({ metadata: { note: "persisted ✓" } });
    await first.insertDevice(device);
    await first.consume("jti:x", Date.now() + 60_000);
    await first.close();
    const second = sqliteStore({ filename });
    expect(await second.getDevice(device.userId, device.id)).toEqual(device);
    expect(await second.consume("jti:x", Date.now() + 60_000)).toBe(false);
    await second.close();
  });

  it("uses WAL and a versioned schema", async () => {
    const store = sqliteStore({ filename: freshFile() });
    expect(store.database.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(store.database.prepare("SELECT version FROM devicebound_schema").get()).toEqual({
      version: 5,
    });
    await store.close();
  });

  it("upgrades a version 1 database in place, keeping its devices and replay records, and adds DBSC sessions and the devices version", async () => {
    const filename = freshFile();
    const old = sqliteStore({ filename });
    const device = makeDeviceRecord({ userId: "old-user" });
    await old.insertDevice(device);
    expect(await old.consume("jti:before-upgrade", Date.now() + 60_000)).toBe(true);
    // Back to what version 1 left: its tables and rows, none of version 2's indexes, no version
    // 3 DBSC sessions, version 4's replay index back, no version 5 devices version.
    for (const index of ["by_jkt", "by_created", "by_status"])
      old.database.exec(`DROP INDEX devicebound_devices_${index}`);
    old.database.exec("DROP TABLE devicebound_dbsc_sessions");
    for (const trigger of ["inserted", "deleted", "changed"])
      old.database.exec(`DROP TRIGGER devicebound_devices_${trigger}`);
    old.database.exec("DROP TABLE devicebound_devices_version");
    old.database.exec(
      "CREATE INDEX devicebound_replay_by_expiry ON devicebound_replay (expires_at_ms)",
    );
    old.database.exec("UPDATE devicebound_schema SET version = 1");
    await old.close();
    const store = sqliteStore({ filename });
    expect(store.database.prepare("SELECT version FROM devicebound_schema").get()).toEqual({
      version: 5,
    });
    expect(await store.consume("jti:before-upgrade", Date.now() + 60_000)).toBe(false);
    const before = store.devicesVersion();
    await store.updateDevice(device.userId, device.id, { status: "blocked" });
    expect(store.devicesVersion()).toBe(before + 1);
    await store.updateDevice(device.userId, device.id, { status: "active" });
    expect(
      store.database
        .prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'devicebound_replay'")
        .pluck()
        .all(),
    ).toEqual(["devicebound_replay"]);
    const session = makeDbscSessionRecord();
    expect(await store.insertDbscSession(session)).toBe(true);
    expect(await store.getDbscSession(session.id)).toEqual(session);
    expect(await store.findDevicesByJkt(device.jkt)).toEqual([device]);
    expect(await store.listAllDevices({ limit: 5 })).toEqual([device]);
    const indexes = store.database
      .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'devicebound_devices_by_%'")
      .all();
    expect(indexes).toHaveLength(4);
    await store.close();
  });

  it("reads every all-users page and key lookup from an index, never sorting or scanning the table", async () => {
    const store = sqliteStore({ filename: freshFile() });
    await store.listAllDevices({ limit: 1 });
    const plan = (sql: string, ...params: unknown[]) =>
      (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
        .map((row) => row.detail)
        .join("; ");
    const page = (where: string) =>
      `SELECT * FROM devicebound_devices ${where} ORDER BY created_at_ms, id LIMIT 50`;
    const after = "(created_at_ms, id) > (1, 'x')";
    for (const [sql, index] of [
      [page(`WHERE ${after}`), "devicebound_devices_by_created"],
      [page(`WHERE ${after} AND status = 'blocked'`), "devicebound_devices_by_status"],
      [page(`WHERE ${after} AND user_id = 'u'`), "devicebound_devices_by_user"],
      [page(""), "devicebound_devices_by_created"],
      [
        "SELECT * FROM devicebound_devices WHERE jkt = 'k' ORDER BY created_at_ms, id",
        "devicebound_devices_by_jkt",
      ],
      [
        "SELECT count(*) FROM devicebound_devices WHERE user_id = 'u'",
        "devicebound_devices_by_user",
      ],
    ] as const) {
      const detail = plan(sql);
      expect(detail, sql).toContain(index);
      expect(detail, sql).not.toMatch(
        /SCAN devicebound_devices(?! USING)|TEMP B-TREE FOR ORDER BY/,
      );
    }
    await store.close();
  });

  it("sweeps expired replay records as it records new ones, keeping every live one", async () => {
    const store = sqliteStore({ filename: freshFile() });
    const rows = () =>
      store.database.prepare("SELECT count(*) FROM devicebound_replay").pluck().get() as number;
    // Keys spread over the key space like real ones (jkt and jti are random base64url).
    const key = (i: number) => `jti:${((i * 7919) % 10007).toString(36)}:${i}`;
    const soon = Date.now() + 1500;
    for (let i = 0; i < 3000; i++) expect(await store.consume(key(i), soon)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, soon + 20 - Date.now()));
    // 3000 records, all expired: a full pass of the sweep takes at most (3000 + 3000) / 4 new
    // records, so the next 3000 remove every expired one and none of the live ones.
    const later = Date.now() + 60_000;
    for (let i = 3000; i < 6000; i++) expect(await store.consume(key(i), later)).toBe(true);
    expect(rows()).toBe(3000);
    for (let i = 3000; i < 6000; i += 97) expect(await store.consume(key(i), later)).toBe(false);
    // An expired record's key may be recorded again, at once.
    expect(await store.consume(key(1), later)).toBe(true);
    await store.close();
  });

  it("never closes a database it was given", async () => {
    const database = new Database(freshFile());
    const store = sqliteStore({ database });
    await store.close();
    expect(database.open).toBe(true);
    await expect(store.listDevices("u")).rejects.toMatchObject({ code: "ERR_STORE_UNAVAILABLE" });
    database.close();
  });

  it("refuses a file that is not a database, and a schema newer than itself", async () => {
    const garbage = freshFile();
    writeFileSync(garbage, "this is not a sqlite database, just text ".repeat(200));
    expect(() => sqliteStore({ filename: garbage })).toThrowError(
      expect.objectContaining({ code: "ERR_STORE_CORRUPT" }),
    );
    const newer = freshFile();
    const db = new Database(newer);
    db.exec(
      "CREATE TABLE devicebound_schema (version INTEGER NOT NULL); INSERT INTO devicebound_schema VALUES (99)",
    );
    db.close();
    expect(() => sqliteStore({ filename: newer })).toThrowError(
      expect.objectContaining({ code: "ERR_STORE_CORRUPT" }),
    );
    expect(() => sqliteStore({} as never)).toThrow(TypeError);
  });

  it("creates a key once when 4 processes insert it 5 times each (20 callers)", async () => {
    const filename = freshFile();
    sqliteStore({ filename }).close();
    const kids = Array.from({ length: 4 }, () => child("insert", filename, "shared-jkt"));
    for (const k of kids) k.go();
    const outcomes = (await Promise.all(kids.map((k) => k.done))).flatMap(
      (out) => lastJsonLine(out) as unknown[],
    );
    expect(outcomes).toHaveLength(20);
    expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
    const store = sqliteStore({ filename });
    expect(await store.listDevices("user-1")).toHaveLength(1);
    await store.close();
  });

  it("accepts a jti once when two processes consume it at the same moment", async () => {
    const filename = freshFile();
    sqliteStore({ filename }).close();
    for (let round = 0; round < 3; round++) {
      const kids = [
        child("consume", filename, `jti-${round}`),
        child("consume", filename, `jti-${round}`),
      ];
      await new Promise((r) => setTimeout(r, 300));
      for (const k of kids) k.go();
      const results = (await Promise.all(kids.map((k) => k.done))).flatMap(
        (out) => lastJsonLine(out) as unknown[],
      );
      expect(results.filter((r) => r === true)).toHaveLength(1);
    }
  });

  it("lets a registry that keeps devices see at once a block by another process, and by plain SQL", async () => {
    const filename = freshFile();
    const store = sqliteStore({ filename });
    const registry = createDeviceBinding({ secret: "s".repeat(32), store });
    const device = makeDeviceRecord({ userId: "user-1" });
    await store.insertDevice(device);
    const proof = { jkt: device.jkt };
    const status = async () => (await registry.isKnown("user-1", proof)).status;
    expect(await status()).toBe("active");
    // Kept now: the second lookup reads no device row.
    const reads = spyOnDeviceReads(store);
    expect(await status()).toBe("active");
    expect(reads()).toBe(0);
    const blocker = child("block", filename, device.id);
    blocker.go();
    expect(lastJsonLine(await blocker.done)).toEqual(["blocked"]);
    expect(await status()).toBe("blocked");
    const other = new Database(filename);
    other.prepare("UPDATE devicebound_devices SET status = 'active' WHERE id = ?").run(device.id);
    expect(await status()).toBe("active");
    other.prepare("DELETE FROM devicebound_devices WHERE id = ?").run(device.id);
    expect(await status()).toBe("unknown");
    other.close();
    await store.close();
  });

  it("stays consistent when a writer is killed mid-write", async () => {
    const filename = freshFile();
    sqliteStore({ filename }).close();
    const writer = child("write-forever", filename);
    writer.go();
    // Kill it once it is writing for sure (a loaded machine may take a while to start it), and
    // then a little later, so the kill lands in the middle of its stream of writes.
    const watcher = sqliteStore({ filename });
    for (let i = 0; i < 200 && (await watcher.listDevices("user-1")).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await watcher.close();
    await new Promise((r) => setTimeout(r, 200));
    writer.proc.kill("SIGKILL");
    await writer.done;
    const store = sqliteStore({ filename });
    expect(store.database.pragma("integrity_check", { simple: true })).toBe("ok");
    const rows = await store.listDevices("user-1");
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect((row.metadata as { blob: string }).blob).toHaveLength(4000);
    await store.close();
  });

  it("keeps every accepted proof's record and every block when the app is killed under load", async () => {
    const filename = freshFile();
    const SERVER = new URL("./test-server.mjs", import.meta.url);
    const url = "https://app.example.com/api/items";
    const start = async () => {
      const s = spawnNodeScript(SERVER, [filename], "port ");
      return {
        proc: s.proc,
        done: s.done,
        base: `http://127.0.0.1:${/port (\d+)/.exec(await s.ready)?.[1]}`,
      };
    };
    const device = await createTestDevice();
    const stolen = await createTestDevice();
    let server = await start();
    const nonce = (
      (await (await fetch(`${server.base}/challenge`)).json()) as { challenge: string }
    ).challenge;
    const send = (proof: string, path = "/api/items") =>
      fetch(`${server.base}${path}`, { headers: { DPoP: proof } }).then(
        async (r) => ({ status: r.status, code: ((await r.json()) as { error?: string }).error }),
        () => ({ status: 0, code: "connection" }),
      );
    const blockedAnswer = await send(
      await stolen.proof({ method: "GET", url: "https://app.example.com/api/block", nonce }),
      "/api/block",
    );
    expect(blockedAnswer.status).toBe(200);

    const accepted: string[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const proof = await device.proof({ method: "GET", url, nonce });
        if ((await send(proof)).status === 200) accepted.push(proof);
      }
    };
    const load = Promise.all([client(), client(), client(), client()]);
    await new Promise((r) => setTimeout(r, 1500));
    server.proc.kill("SIGKILL");
    await server.done;
    running = false;
    await load;
    expect(accepted.length).toBeGreaterThan(10);

    const restartedAt = Date.now();
    server = await start();
    let recoveredAt = 0;
    while (recoveredAt === 0) {
      const r = await send(await device.proof({ method: "GET", url, nonce }));
      if (r.status === 200) recoveredAt = Date.now();
    }
    const check = sqliteStore({ filename });
    expect(check.database.pragma("integrity_check", { simple: true })).toBe("ok");
    await check.close();
    // Every proof that was answered 200 before the kill is still on record: none passes again.
    const replays = await Promise.all(accepted.map((proof) => send(proof)));
    expect(new Set(replays.map((r) => `${r.status} ${r.code}`))).toEqual(
      new Set(["401 ERR_PROOF_REPLAYED"]),
    );
    const again = await send(await stolen.proof({ method: "GET", url, nonce }));
    expect([again.status, again.code]).toEqual([403, "ERR_DEVICE_BLOCKED"]);
    server.proc.kill("SIGTERM");
    console.log(
      `sqlite crash figures: ${JSON.stringify({
        acceptedBeforeKill: accepted.length,
        replaysRefusedAfterRestart: replays.length,
        secondsToRecover: Number(((recoveredAt - restartedAt) / 1000).toFixed(2)),
      })}`,
    );
  }, 60_000);
});
