// Sessions that start without a device (an SSO or OAuth redirect carries no proof) and sessions
// from before devicebound (a rollout): bound on first use, at most once, to exactly one key.
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import type { DeviceBinding } from "../device-binding.js";
import type { DeviceEvent } from "../events.js";
import { createDeviceBinding, memoryStore } from "../index.node.js";
import { createTestDevice, type TestDevice } from "../testing/test-device.js";
import { fastifyDeviceBinding } from "./fastify.js";
import { fetchDeviceBinding } from "./fetch.js";
import type { DeviceSession } from "./guard.js";

const ORIGIN = "https://app.example.com";
const SECRET = "sessions-secret-0123456789-abcdef-01234";

/** An app's session store with the compare-and-set binding needs (UPDATE ... WHERE jkt IS NULL). */
function sessionStore() {
  const sessions = new Map<string, DeviceSession>();
  return {
    sessions,
    get: (request: Request) => sessions.get(request.headers.get("x-session") ?? ""),
    async bind(request: Request, jkt: string) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5)); // a store round trip
      const session = sessions.get(request.headers.get("x-session") ?? "");
      if (!session) return null;
      if (!session.jkt) session.jkt = jkt;
      return session.jkt;
    },
  };
}

function server(store = memoryStore(), events: DeviceEvent[] = []) {
  const binding = createDeviceBinding({
    secret: SECRET,
    store,
    publicOrigin: ORIGIN,
    onEvent: (e) => void events.push(e),
  });
  return { binding, glue: fetchDeviceBinding(binding, { getIpAddress: false }), events };
}

async function request(binding: DeviceBinding, device: TestDevice | null, session = "s1") {
  const headers: Record<string, string> = { "x-session": session };
  if (device) {
    const nonce = (await binding.createChallenge()).challenge;
    headers.DPoP = await device.proof({ method: "GET", url: `${ORIGIN}/api/me`, nonce });
  }
  return new Request(`${ORIGIN}/api/me`, { headers });
}

describe("bind on first use", () => {
  it("binds an SSO session to the first key with a valid proof, reports the new device, then requires that key", async () => {
    const { binding, glue, events } = server();
    const app = sessionStore();
    app.sessions.set("s1", { userId: "alice" });
    const laptop = await createTestDevice();
    const options = { bindSession: app.bind };

    const first = await glue.requireDevice(await request(binding, laptop), app.get, options);
    expect(first).toMatchObject({ ok: true, sessionStatus: "bound-now", newDeviceDetected: true });
    expect(app.sessions.get("s1")?.jkt).toBe(laptop.jkt);
    expect(events.filter((e) => e.type === "sessionBound")).toHaveLength(1);

    const again = await glue.requireDevice(await request(binding, laptop), app.get, options);
    expect(again).toMatchObject({ ok: true, sessionStatus: "bound", newDeviceDetected: false });

    const thief = await createTestDevice();
    const stolen = await glue.requireDevice(await request(binding, thief), app.get, options);
    expect(stolen.ok).toBe(false);
    if (!stolen.ok) {
      expect(stolen.response.status).toBe(401);
      expect(((await stolen.response.json()) as { error: string }).error).toBe(
        "ERR_DEVICE_MISMATCH",
      );
    }
    expect((await binding.list("alice")).map((d) => d.jkt)).toEqual([laptop.jkt]);
  });

  it("reports a known device as not new, refuses a blocked one before binding, and asks for a proof", async () => {
    const { binding, glue } = server();
    const app = sessionStore();
    const known = await createTestDevice();
    const registered = await binding.register(
      "alice",
      await binding.verifyRequest(await request(binding, known)),
    );
    app.sessions.set("s1", { userId: "alice" });
    const ok = await glue.requireDevice(await request(binding, known), app.get, {
      bindSession: app.bind,
    });
    expect(ok).toMatchObject({ ok: true, sessionStatus: "bound-now", newDeviceDetected: false });

    await binding.block("alice", registered.device.id);
    app.sessions.set("s2", { userId: "alice" });
    const blocked = await glue.requireDevice(await request(binding, known, "s2"), app.get, {
      bindSession: app.bind,
    });
    expect(blocked.ok || blocked.response.status).toBe(403);
    expect(app.sessions.get("s2")?.jkt).toBeUndefined();

    app.sessions.set("s3", { userId: "alice" });
    const bare = await glue.requireDevice(await request(binding, null, "s3"), app.get, {
      bindSession: app.bind,
    });
    expect(bare.ok || bare.response.status).toBe(401);
    expect(bare.ok || bare.response.headers.get("dpop-nonce")).toBeTruthy();
  });

  it("refuses an unbound session where the route does not bind", async () => {
    const { binding, glue } = server();
    const app = sessionStore();
    app.sessions.set("s1", { userId: "alice" });
    const result = await glue.requireDevice(
      await request(binding, await createTestDevice()),
      app.get,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(((await result.response.json()) as { error: string }).error).toBe(
        "ERR_DEVICE_MISMATCH",
      );
    }
    expect(app.sessions.get("s1")?.jkt).toBeUndefined();
  });

  it("lets exactly one key win when two browsers and two tabs race on two servers", async () => {
    for (let round = 0; round < 20; round++) {
      const shared = memoryStore();
      const [a, b] = [server(shared), server(shared)];
      const app = sessionStore();
      app.sessions.set("s1", { userId: "alice" });
      const [owner, thief] = [await createTestDevice(), await createTestDevice()];
      const attempts = [
        [a, owner],
        [b, owner], // a second tab of the same browser, on the other server
        [a, thief],
        [b, thief],
      ] as const;
      const results = await Promise.all(
        attempts.map(async ([s, key]) =>
          s.glue.requireDevice(await request(s.binding, key), app.get, { bindSession: app.bind }),
        ),
      );
      const winner = app.sessions.get("s1")?.jkt;
      expect([owner.jkt, thief.jkt]).toContain(winner);
      const okKeys = attempts.filter((_, i) => results[i]?.ok).map(([, key]) => key.jkt);
      expect(okKeys).toEqual([winner, winner]);
      // Only the winner's device was registered, and reported new exactly once.
      expect((await a.binding.list("alice")).map((d) => d.jkt)).toEqual([winner]);
      const news = results.filter((r) => r.ok && r.newDeviceDetected);
      expect(news).toHaveLength(1);
    }
  });
});

describe("gradual rollout", () => {
  const cutoff = Date.UTC(2026, 10, 1);
  const endsAt = Date.UTC(2026, 11, 1);

  it("serves legacy sessions unbound until they bring a proof, holds new sessions to the rule, and ends", async () => {
    const { binding, glue, events } = server();
    const app = sessionStore();
    let nowMs = Date.UTC(2026, 10, 20);
    const options = {
      bindSession: app.bind,
      rollout: { createdBefore: cutoff, endsAt },
      now: () => nowMs,
    };
    app.sessions.set("legacy", { userId: "alice", createdAtMs: cutoff - 1 });
    app.sessions.set("new", { userId: "alice", createdAtMs: cutoff });
    app.sessions.set("marked", { userId: "bob" });

    const unbound = await glue.requireDevice(
      await request(binding, null, "legacy"),
      app.get,
      options,
    );
    expect(unbound).toMatchObject({
      ok: true,
      sessionStatus: "unbound",
      device: null,
      proof: null,
    });
    expect(events).toContainEqual({ type: "unboundSessionServed", userId: "alice" });

    const fresh = await glue.requireDevice(await request(binding, null, "new"), app.get, options);
    expect(fresh.ok).toBe(false);

    const marked = await glue.requireDevice(await request(binding, null, "marked"), app.get, {
      ...options,
      rollout: { isLegacy: (s: DeviceSession) => s.userId === "bob" },
    });
    expect(marked).toMatchObject({ ok: true, sessionStatus: "unbound" });

    // A bad proof is refused, never ignored in favour of the rollout.
    const bad = new Request(`${ORIGIN}/api/me`, {
      headers: { "x-session": "legacy", DPoP: "x.y.z" },
    });
    expect((await glue.requireDevice(bad, app.get, options)).ok).toBe(false);

    const laptop = await createTestDevice();
    const bound = await glue.requireDevice(
      await request(binding, laptop, "legacy"),
      app.get,
      options,
    );
    expect(bound).toMatchObject({ ok: true, sessionStatus: "bound-now", newDeviceDetected: true });
    const without = await glue.requireDevice(
      await request(binding, null, "legacy"),
      app.get,
      options,
    );
    expect(without.ok).toBe(false);

    // At the exact end of the rollout, legacy sessions are held to the full rule.
    app.sessions.set("late", { userId: "carol", createdAtMs: cutoff - 1 });
    nowMs = endsAt - 1;
    expect(
      (await glue.requireDevice(await request(binding, null, "late"), app.get, options)).ok,
    ).toBe(true);
    nowMs = endsAt;
    expect(
      (await glue.requireDevice(await request(binding, null, "late"), app.get, options)).ok,
    ).toBe(false);
  });

  it("refuses rollout options that cannot work, at setup", async () => {
    const { glue } = server();
    const get = () => null;
    const req = new Request(`${ORIGIN}/`);
    await expect(
      glue.requireDevice(req, get, { rollout: { createdBefore: cutoff } }),
    ).rejects.toThrow(TypeError);
    await expect(
      glue.requireDevice(req, get, { bindSession: () => null, rollout: {} }),
    ).rejects.toThrow(TypeError);
  });
});

describe("the same option on Fastify", () => {
  it("binds an SSO session through a preHandler", async () => {
    const binding = createDeviceBinding({
      secret: SECRET,
      store: memoryStore(),
      publicOrigin: ORIGIN,
    });
    const glue = fastifyDeviceBinding(binding);
    const sessions = new Map<string, DeviceSession>([["s1", { userId: "alice" }]]);
    const app = Fastify();
    app.get(
      "/api/me",
      {
        preHandler: glue.requireDevice((r) => sessions.get(String(r.headers["x-session"])), {
          bindSession: (r, jkt) => {
            const session = sessions.get(String(r.headers["x-session"]));
            if (session && !session.jkt) session.jkt = jkt;
            return session?.jkt;
          },
        }),
      },
      async (request) => ({
        status: request.devicebound.sessionStatus,
      }),
    );
    const device = await createTestDevice();
    const nonce = (await binding.createChallenge()).challenge;
    const proof = await device.proof({ method: "GET", url: `${ORIGIN}/api/me`, nonce });
    const r = await app.inject({
      method: "GET",
      url: "/api/me",
      headers: { "x-session": "s1", dpop: proof },
    });
    expect(r.json()).toEqual({ status: "bound-now" });
    expect(sessions.get("s1")?.jkt).toBe(device.jkt);
    await app.close();
  });
});
