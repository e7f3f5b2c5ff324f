// Faults, not attacks: the fleet stack (two server processes, devices in PostgreSQL, replay in
// Redis) under steady load while Redis and then PostgreSQL restart. While a store is down every
// request fails closed (503, ERR_STORE_UNAVAILABLE); afterwards the servers recover by themselves;
// no proof is accepted twice across the outage; no device or block is lost.
import type { ChildProcess } from "node:child_process";
import { createDeviceBinding } from "@devicebound/server";
import { createTestDevice, spawnNodeScript, type TestDevice } from "@devicebound/server/testing";
import { postgresStore } from "@devicebound/store-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisStore } from "./redis-store.js";
import { type RestartableService, startPostgres, startRedis } from "./test-services.js";

const ORIGIN = "https://app.example.com";
const SECRET = "fleet-shared-secret-0123456789-abcdef";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  startedAt: number;
  endedAt: number;
  status: number;
  code: string | null;
}

describe("the fleet stack through store restarts under load", () => {
  let redis: RestartableService;
  let pg: RestartableService;
  const servers: { proc: ChildProcess; base: string }[] = [];

  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    for (let i = 0; i < 2; i++) {
      const s = spawnNodeScript(
        new URL("./fleet-server.mjs", import.meta.url),
        [pg.url, "public", redis.url, "faults:"],
        "port ",
      );
      const port = /port (\d+)/.exec(await s.ready)?.[1];
      servers.push({ proc: s.proc, base: `http://127.0.0.1:${port}` });
    }
  }, 90_000);

  afterAll(async () => {
    for (const s of servers) s.proc.kill("SIGTERM");
    await Promise.allSettled([redis?.destroy(), pg?.destroy()]);
  });

  it("fails closed while a store is down, recovers by itself, and never accepts a replay", async () => {
    const device = await createTestDevice();
    const url = `${ORIGIN}/api/items`;
    const { challenge } = (await (await fetch(`${servers[0]?.base}/challenge`)).json()) as {
      challenge: string;
    };
    const send = async (proof: string, server: number): Promise<Outcome> => {
      const startedAt = Date.now();
      try {
        const r = await fetch(`${servers[server % 2]?.base}/api/items`, {
          headers: { DPoP: proof },
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await r.json()) as { error?: string };
        return { startedAt, endedAt: Date.now(), status: r.status, code: body.error ?? null };
      } catch (error) {
        return { startedAt, endedAt: Date.now(), status: 0, code: String(error) };
      }
    };
    const fresh = () => device.proof({ method: "GET", url, nonce: challenge });

    // The same user's second device, blocked before the faults: it must stay blocked.
    const admin = createDeviceBinding({
      secret: SECRET,
      store: postgresStore({ connectionString: pg.url }),
      replayStore: redisStore({ url: redis.url, keyPrefix: "faults-admin:" }),
      publicOrigin: ORIGIN,
    });
    const stolen: TestDevice = await createTestDevice();
    const stolenProof = await admin.verifyProof(
      await stolen.proof({ method: "GET", url, nonce: challenge }),
      { method: "GET", url },
    );
    const { device: blocked } = await admin.register("alice", stolenProof);
    await admin.block("alice", blocked.id);

    const used = await fresh();
    expect((await send(used, 0)).status).toBe(200);

    // Steady load: four clients, alternating between the two servers, until told to stop.
    const outcomes: Outcome[] = [];
    let running = true;
    let n = 0;
    const client = async () => {
      while (running) outcomes.push(await send(await fresh(), n++));
    };
    const load = Promise.all([client(), client(), client(), client()]);
    const replays: Outcome[] = [];
    const replay = async () => {
      for (let s = 0; s < 2; s++) replays.push(await send(used, s));
    };

    const outage = async (service: RestartableService) => {
      await sleep(1000);
      await service.stop();
      const downAt = Date.now();
      await replay();
      await sleep(2000);
      const upAt = Date.now();
      await service.start();
      const startedAt = Date.now();
      let recoveredAt = 0;
      while (recoveredAt === 0 && Date.now() - startedAt < 30_000) {
        await sleep(50);
        recoveredAt =
          outcomes.find((o) => o.startedAt >= startedAt && o.status === 200)?.endedAt ?? 0;
      }
      await replay();
      return { downAt, upAt, startedAt, recoveredAt };
    };
    const redisOutage = await outage(redis);
    const pgOutage = await outage(pg);
    await sleep(500);
    running = false;
    await load;

    const figures: Record<string, unknown> = {};
    for (const [name, o] of [
      ["redis", redisOutage],
      ["postgres", pgOutage],
    ] as const) {
      // Requests that started after the store was gone and ended before it was started again.
      const during = outcomes.filter((x) => x.startedAt >= o.downAt && x.endedAt <= o.upAt);
      expect(during.length, `${name}: requests during the outage`).toBeGreaterThan(0);
      for (const x of during) {
        expect([x.status, x.code], `${name}: fails closed`).toEqual([503, "ERR_STORE_UNAVAILABLE"]);
      }
      expect(o.recoveredAt, `${name}: recovered without a restart of the app`).toBeGreaterThan(0);
      figures[name] = {
        refusedDuringOutage: during.length,
        secondsToRecover: Number(((o.recoveredAt - o.startedAt) / 1000).toFixed(2)),
      };
    }
    // Every other answer is a success or a fail-closed 503: nothing else, and nothing hung.
    for (const x of outcomes) expect([200, 503]).toContain(x.status);
    // The proof used before the outages was never accepted again, on either server.
    for (const r of replays) {
      expect(r.status).not.toBe(200);
      expect(["ERR_PROOF_REPLAYED", "ERR_STORE_UNAVAILABLE"]).toContain(r.code);
    }
    expect(replays.at(-1)?.code).toBe("ERR_PROOF_REPLAYED");
    // No device or block was lost.
    const devices = await admin.list("alice");
    expect(devices.map((d) => d.status).sort()).toEqual(["active", "blocked"]);
    const again = await send(await stolen.proof({ method: "GET", url, nonce: challenge }), 1);
    expect([again.status, again.code]).toEqual([403, "ERR_DEVICE_BLOCKED"]);
    const accepted = outcomes.filter((o) => o.status === 200).length;
    console.log(
      `fleet fault figures: ${JSON.stringify({ accepted, total: outcomes.length, ...figures })}`,
    );
  }, 120_000);
});
