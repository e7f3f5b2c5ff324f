// The Hono adapter in a real Hono app: served by @hono/node-server on loopback (node:crypto), and
// called through app.fetch as a Fetch runtime calls it (Web Crypto).
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import type { DeviceBinding } from "../device-binding.js";
import { createDeviceBinding, memoryStore } from "../index.js";
import { createTestDevice } from "../testing/test-device.js";
import type { GuardResult } from "./guard.js";
import { type DeviceboundEnv, type HonoAdapterOptions, honoDeviceBinding } from "./hono.js";
import { ORIGIN, runFrameworkScenarios, ScenarioSessions } from "./scenarios.js";

function scenarioApp(
  binding: DeviceBinding,
  sessions: ScenarioSessions,
  options: HonoAdapterOptions,
) {
  const glue = honoDeviceBinding(binding, options);
  const getSession = (c: Context) => sessions.get(getCookie(c, "sid"));
  const bindSession = (c: Context, jkt: string) => sessions.bind(getCookie(c, "sid"), jkt);
  const app = new Hono<DeviceboundEnv>();
  app.onError(glue.errorHandler());
  app.get("/api/challenge", glue.challengeHandler());
  app.post("/api/login", async (c) => {
    const proof = await glue.verify(c, { singleUseChallenge: true });
    const { user } = await c.req.json<{ user: string }>();
    const { device, newDeviceDetected } = await binding.register(user, proof);
    setCookie(c, "sid", sessions.start({ userId: user, jkt: proof.jkt }), { httpOnly: true });
    return c.json({ deviceId: device.id, newDeviceDetected });
  });
  app.post("/sso/callback", async (c) => {
    const { user } = await c.req.json<{ user: string }>();
    setCookie(c, "sid", sessions.start({ userId: user }), { httpOnly: true });
    return c.json({ ok: true });
  });
  app.get("/api/sso/me", glue.requireDevice(getSession, { bindSession }), (c) => {
    const { device, sessionStatus, newDeviceDetected } = c.get("devicebound");
    return c.json({ deviceId: device.id, sessionStatus, newDeviceDetected });
  });
  app.use("/api/me", glue.requireDevice(getSession));
  app.get("/api/me", (c) => {
    const { device, sessionStatus } = c.get("devicebound");
    return c.json({ deviceId: device.id, sessionStatus });
  });
  return { app, glue };
}

runFrameworkScenarios("Hono on Node (@hono/node-server)", async (binding, sessions) => {
  const { app } = scenarioApp(binding, sessions, {
    getIpAddress: (c) => getConnInfo(c).remote.address,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    send: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});

runFrameworkScenarios(
  "Hono on a Fetch runtime (app.fetch, Web Crypto)",
  async (binding, sessions) => {
    // As on a worker: the platform names the client address in a header it controls.
    const { app } = scenarioApp(binding, sessions, {
      getIpAddress: (c) => c.req.header("cf-connecting-ip"),
    });
    return {
      send: async (path, init) =>
        app.fetch(
          new Request(ORIGIN + path, {
            ...init,
            headers: { ...init.headers, "cf-connecting-ip": "192.0.2.7" },
          }),
        ),
      close: async () => {},
    };
  },
  { crypto: "web" },
);

describe("the Hono adapter", () => {
  const binding = createDeviceBinding({
    secret: "hono-adapter-secret-0123456789-abcdef",
    store: memoryStore(),
    publicOrigin: ORIGIN,
  });

  it("binds challenges to the address getIpAddress reads from the context", async () => {
    const { app } = scenarioApp(binding, new ScenarioSessions(), {
      getIpAddress: (c) => c.req.header("cf-connecting-ip"),
    });
    const from = (ip: string) =>
      new Request(`${ORIGIN}/api/challenge`, { headers: { "cf-connecting-ip": ip } });
    const { challenge } = (await (await app.fetch(from("192.0.2.1"))).json()) as {
      challenge: string;
    };
    const elsewhere = { ipAddress: "192.0.2.2" };
    const here = { ipAddress: "192.0.2.1" };
    const device = await createTestDevice();
    const proof = () => device.proof({ method: "GET", url: `${ORIGIN}/x`, nonce: challenge });
    await expect(
      binding.verifyProof(await proof(), { method: "GET", url: `${ORIGIN}/x`, ...elsewhere }),
    ).rejects.toMatchObject({ code: "ERR_CHALLENGE_BINDING" });
    await expect(
      binding.verifyProof(await proof(), { method: "GET", url: `${ORIGIN}/x`, ...here }),
    ).resolves.toMatchObject({ jkt: device.jkt });
  });

  it("passes other errors to the fallback, or answers them as Hono would", async () => {
    const glue = honoDeviceBinding(binding, { getIpAddress: false });
    const app = new Hono();
    app.get("/teapot", () => {
      throw new HTTPException(418, { message: "short and stout" });
    });
    app.get("/bug", () => {
      throw new Error("an application bug");
    });
    app.onError(glue.errorHandler());
    expect((await app.request("/teapot")).status).toBe(418);
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (e: unknown) => void errors.push(e);
    try {
      expect((await app.request("/bug")).status).toBe(500);
    } finally {
      console.error = original;
    }
    expect(errors).toHaveLength(1);
    const withFallback = new Hono();
    withFallback.get("/bug", () => {
      throw new Error("an application bug");
    });
    withFallback.onError(glue.errorHandler((_error, c) => c.json({ mine: true }, 502)));
    const answer = await withFallback.request("/bug");
    expect(answer.status).toBe(502);
    expect(await answer.json()).toEqual({ mine: true });
  });

  it("lets a legacy session through a rollout, where the result is typed as possibly unbound", async () => {
    const sessions = new ScenarioSessions();
    const sid = sessions.start({ userId: "legacy", createdAtMs: 0 });
    const glue = honoDeviceBinding(binding, { getIpAddress: false });
    const app = new Hono<DeviceboundEnv<GuardResult>>();
    const guarded = glue.requireDevice((c) => sessions.get(getCookie(c, "sid")), {
      bindSession: (c, jkt) => sessions.bind(getCookie(c, "sid"), jkt),
      rollout: { createdBefore: Date.now() },
    });
    app.get("/api/me", guarded, (c) => {
      const { sessionStatus, device } = c.get("devicebound");
      return c.json({ sessionStatus, device: device?.id ?? null });
    });
    const answer = await app.request(`${ORIGIN}/api/me`, { headers: { cookie: `sid=${sid}` } });
    expect(await answer.json()).toEqual({ sessionStatus: "unbound", device: null });
    const fresh = sessions.start({ userId: "newer", createdAtMs: Date.now() });
    const refused = await app.request(`${ORIGIN}/api/me`, { headers: { cookie: `sid=${fresh}` } });
    expect(refused.status).toBe(401);
  });

  it("refuses misuse when the app is set up, not on the first request", () => {
    expect(() => honoDeviceBinding(binding)).toThrow(TypeError);
    const glue = honoDeviceBinding(binding, { trustProxy: 1 });
    expect(() => glue.requireDevice(() => null, { rollout: { isLegacy: () => true } })).toThrow(
      TypeError,
    );
  });
});
