import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJsonLine, spawnNodeScript } from "@devicebound/server/testing";
import {
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
});

const CHILD = new URL("./test-child.mjs", import.meta.url);
const child = (action: string, filename: string, arg = "") =>
  spawnNodeScript(CHILD, [action, filename, arg]);

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
      version: 1,
    });
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

  it("stays consistent when a writer is killed mid-write", async () => {
    const filename = freshFile();
    sqliteStore({ filename }).close();
    const writer = child("write-forever", filename);
    writer.go();
    await new Promise((r) => setTimeout(r, 700));
    writer.proc.kill("SIGKILL");
    await writer.done;
    const store = sqliteStore({ filename });
    expect(store.database.pragma("integrity_check", { simple: true })).toBe("ok");
    const rows = await store.listDevices("user-1");
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect((row.metadata as { blob: string }).blob).toHaveLength(4000);
    await store.close();
  });
});
