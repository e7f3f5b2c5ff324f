import type { ChildProcess } from "node:child_process";
import { createTestDevice, raceNodeScripts, spawnNodeScript } from "@devicebound/server/testing";
import {
  makeDeviceRecord,
  runStoreConformanceSuite,
} from "@devicebound/server/testing/conformance";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { redisStore } from "./redis-store.js";

const url = process.env.DEVICEBOUND_TEST_REDIS_URL;
const pgUrl = process.env.DEVICEBOUND_TEST_PG_URL;
if (!url || !pgUrl) {
  throw new Error(
    "DEVICEBOUND_TEST_REDIS_URL and DEVICEBOUND_TEST_PG_URL must be set: run through `npm test` or `bash scripts/dev.sh services -- ...`",
  );
}
const run = `t${process.pid}${Math.random().toString(36).slice(2, 6)}`;
let prefixes = 0;
const freshPrefix = () => `${run}:${++prefixes}:`;
const admin = new Redis(url);
afterAll(async () => {
  const stale = await admin.keys(`${run}:*`);
  if (stale.length) await admin.del(...stale);
  await admin.quit();
});

runStoreConformanceSuite({
  name: "redis",
  createStore: () => redisStore({ url, keyPrefix: freshPrefix() }),
});

describe("redisStore", () => {
  it("accepts a jti once when two processes consume it at the same moment", async () => {
    const prefix = freshPrefix();
    const results = await raceNodeScripts(new URL("./test-child.mjs", import.meta.url), [
      url,
      prefix,
      "jti:shared",
    ]);
    expect(results.sort()).toEqual([false, true]);
  });

  it("keeps data across close and reopen, and never quits a client it was given", async () => {
    const keyPrefix = freshPrefix();
    const first = redisStore({ url, keyPrefix });
    const device = makeDeviceRecord({ metadata: { list: [], nested: { empty: [] } } });
    await first.insertDevice(device);
    await first.close();
    const client = new Redis(url);
    const second = redisStore({ client, keyPrefix });
    expect(await second.getDevice(device.userId, device.id)).toEqual(device);
    await second.close();
    expect(await client.ping()).toBe("PONG");
    await client.quit();
  });

  it("keeps user ids with braces in their own slot and apart", async () => {
    const store = redisStore({ url, keyPrefix: freshPrefix() });
    const a = makeDeviceRecord({ userId: "a}b" });
    const b = makeDeviceRecord({ userId: "a%7Db", jkt: "other" });
    await store.insertDevice(a);
    await store.insertDevice(b);
    expect(await store.listDevices("a}b")).toEqual([a]);
    expect(await store.listDevices("a%7Db")).toEqual([b]);
    await store.close();
  });

  it("indexes devices stored before the all-users indexes existed, on first use", async () => {
    const keyPrefix = freshPrefix();
    const before = redisStore({ url, keyPrefix });
    const t = 1767225600000;
    const a = makeDeviceRecord({ userId: "old-a", createdAt: new Date(t) });
    const b = makeDeviceRecord({ userId: "old-b", jkt: a.jkt, createdAt: new Date(t + 1) });
    await before.insertDevice(a);
    await before.insertDevice(b);
    await before.close();
    // What an earlier version left behind: the devices, and no global index at all.
    const global = await admin.keys(`${keyPrefix}[^{]*`);
    expect(global.length).toBeGreaterThan(0);
    await admin.del(...global);
    const after = redisStore({ url, keyPrefix });
    expect(await after.listAllDevices({ limit: 10 })).toEqual([a, b]);
    expect(await after.findDevicesByJkt(a.jkt)).toEqual([a, b]);
    expect(await admin.get(`${keyPrefix}indexes`)).toBe("1");
    expect(await after.reindex()).toBe(2);
    expect(await after.listAllDevices({ limit: 10 })).toEqual([a, b]);
    await after.close();
  });

  it("skips index entries whose device is gone, and pages on past them", async () => {
    const keyPrefix = freshPrefix();
    const store = redisStore({ url, keyPrefix });
    const t = 1767225600000;
    const devices = [0, 1, 2].map((i) =>
      makeDeviceRecord({ userId: `u${i}`, createdAt: new Date(t + i) }),
    );
    for (const d of devices) await store.insertDevice(d);
    // A server that stopped between writing the entries and storing the device leaves these.
    const dangling = [
      `${String(t).padStart(15, "0")}\u0000zzz\u0000ghost`,
      `${String(t + 1).padStart(15, "0")}\u0000aaa\u0000ghost`,
    ];
    await admin.zadd(`${keyPrefix}all-devices`, ...dangling.flatMap((m) => [0, m]));
    await admin.sadd(`${keyPrefix}jkt:${devices[0]?.jkt}`, "ghost\u0000zzz");
    expect(await store.listAllDevices({ limit: 2 })).toEqual(devices.slice(0, 2));
    expect(await store.listAllDevices({ limit: 10 })).toEqual(devices);
    expect(await store.findDevicesByJkt(devices[0]?.jkt as string)).toEqual([devices[0]]);
    await store.close();
  });

  it("fails closed with ERR_STORE_UNAVAILABLE when Redis cannot be reached", async () => {
    const store = redisStore({ url: "redis://127.0.0.1:1" });
    await expect(store.consume("k", Date.now() + 1000)).rejects.toMatchObject({
      code: "ERR_STORE_UNAVAILABLE",
    });
    await store.close();
    expect(() => redisStore({} as never)).toThrow(TypeError);
  });
});

describe("a fleet: two servers sharing PostgreSQL and Redis", () => {
  it("accepts a challenge issued by one server at the other, and a replayed proof once", async () => {
    const schema = `fleet_${run}`;
    const prefix = freshPrefix();
    const servers: Array<{ proc: ChildProcess; base: string }> = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = spawnNodeScript(
          new URL("./fleet-server.mjs", import.meta.url),
          [pgUrl, schema, url, prefix],
          "port ",
        );
        const port = /port (\d+)/.exec(await s.ready)?.[1];
        servers.push({ proc: s.proc, base: `http://127.0.0.1:${port}` });
      }
      const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const device = await createTestDevice();
      const { challenge } = (await (await fetch(`${a.base}/challenge`)).json()) as {
        challenge: string;
      };
      // Behind a load balancer both answer for https://app.example.com.
      const proof = await device.proof({
        method: "GET",
        url: "https://app.example.com/api/items",
        nonce: challenge,
      });
      const first = await fetch(`${b.base}/api/items`, { headers: { DPoP: proof } });
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ ok: true, newDeviceDetected: true });

      const replayed = await device.proof({
        method: "GET",
        url: "https://app.example.com/api/items",
        nonce: challenge,
      });
      const answers = await Promise.all(
        [a, b].map((s) => fetch(`${s.base}/api/items`, { headers: { DPoP: replayed } })),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
      const refused = answers.find((r) => r.status === 401) as Response;
      expect(await refused.json()).toMatchObject({ error: "ERR_PROOF_REPLAYED" });
      const accepted = answers.find((r) => r.status === 200) as Response;
      expect(await accepted.json()).toMatchObject({ newDeviceDetected: false });
    } finally {
      for (const s of servers) s.proc.kill("SIGTERM");
      const pg = (await import("pg")).default;
      const pool = new pg.Pool({ connectionString: pgUrl, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});
