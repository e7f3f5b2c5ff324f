// The Fastify plugin on a real Fastify server listening on loopback: the framework scenarios,
// encapsulation, and errors answered by Fastify's own error handling (or the app's).
import Fastify, { type FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { createDeviceBinding, memoryStore } from "../index.node.js";
import { createTestDevice } from "../testing/test-device.js";
import { devicebound } from "./fastify.js";
import { ORIGIN, runFrameworkScenarios, sessionCookie, sidFrom } from "./scenarios.js";

runFrameworkScenarios("Fastify plugin", async (binding, sessions) => {
  const app = Fastify();
  await app.register(devicebound, { binding });
  const getSession = (request: FastifyRequest) => sessions.get(sidFrom(request.headers.cookie));
  app.get("/api/challenge", app.devicebound.challengeHandler());
  app.post<{ Body: { user: string } }>("/api/login", async (request, reply) => {
    const proof = await app.devicebound.verify(request, { singleUseChallenge: true });
    const { device, newDeviceDetected } = await binding.register(request.body.user, proof);
    const sid = sessions.start({ userId: request.body.user, jkt: proof.jkt });
    reply.header("set-cookie", sessionCookie(sid));
    return { deviceId: device.id, newDeviceDetected };
  });
  app.post<{ Body: { user: string } }>("/sso/callback", async (request, reply) => {
    reply.header("set-cookie", sessionCookie(sessions.start({ userId: request.body.user })));
    return { ok: true };
  });
  app.get(
    "/api/sso/me",
    {
      preHandler: app.devicebound.requireDevice(getSession, {
        bindSession: (request, jkt) => sessions.bind(sidFrom(request.headers.cookie), jkt),
      }),
    },
    async (request) => ({
      deviceId: request.devicebound.device?.id,
      sessionStatus: request.devicebound.sessionStatus,
      newDeviceDetected: request.devicebound.newDeviceDetected,
    }),
  );
  // Protected routes in their own encapsulated context: the hook guards them and nothing else.
  await app.register(async (api) => {
    api.addHook("preHandler", api.devicebound.requireDevice(getSession));
    api.get("/api/me", async (request) => ({
      deviceId: request.devicebound.device?.id,
      sessionStatus: request.devicebound.sessionStatus,
    }));
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as { port: number };
  return {
    send: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
    close: () => app.close(),
  };
});

describe("the Fastify plugin", () => {
  const binding = createDeviceBinding({
    secret: "fastify-plugin-secret-0123456789-abcdef",
    store: memoryStore(),
    publicOrigin: ORIGIN,
  });

  it("decorates the context it is registered in, while its guard stays in the route's context", async () => {
    const app = Fastify();
    const seen: unknown[] = [];
    await app.register(async (scope) => {
      await scope.register(devicebound, { binding });
      scope.register(async (api) => {
        api.addHook(
          "preHandler",
          api.devicebound.requireDevice(() => null),
        );
        api.get("/guarded", async () => ({ ok: true }));
      });
      scope.get("/open", async (request) => {
        seen.push(request.devicebound);
        return { decorated: scope.hasDecorator("devicebound") };
      });
    });
    // Encapsulation: a sibling of the plugin's parent context sees nothing of it.
    app.get("/outside", async () => ({ decorated: app.hasDecorator("devicebound") }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      expect(await (await fetch(`${base}/open`)).json()).toEqual({ decorated: true });
      expect(seen).toEqual([null]);
      expect(await (await fetch(`${base}/outside`)).json()).toEqual({ decorated: false });
      const guarded = await fetch(`${base}/guarded`);
      expect(guarded.status).toBe(401);
      expect(await guarded.json()).toMatchObject({ statusCode: 401, code: "ERR_DEVICE_MISMATCH" });
    } finally {
      await app.close();
    }
  });

  it("hands the app's own error handler a DeviceBindingError with statusCode and headers", async () => {
    const app = Fastify();
    await app.register(devicebound, { binding });
    const handled: { code: string; statusCode: number; nonce: string | undefined }[] = [];
    app.setErrorHandler(
      (
        error: Error & { code: string; statusCode?: number; headers?: Record<string, string> },
        _request,
        reply,
      ) => {
        handled.push({
          code: error.code,
          statusCode: error.statusCode ?? 500,
          nonce: error.headers?.["dpop-nonce"],
        });
        return reply
          .code(error.statusCode ?? 500)
          .headers(error.headers ?? {})
          .send({ problem: error.code });
      },
    );
    const device = await createTestDevice();
    const nonce = (await binding.createChallenge()).challenge;
    const proof = await device.proof({ method: "POST", url: `${ORIGIN}/block-me`, nonce });
    app.post("/block-me", async (request) => {
      const verified = await binding.verifyRequest({
        method: request.method,
        url: request.url,
        headers: request.headers,
      });
      const { device: registered } = await binding.register("carol", verified);
      await binding.block("carol", registered.id);
      // The registry throws a plain DeviceBindingError; the plugin's hook gives it a status.
      await binding.register("carol", verified);
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const blocked = await fetch(`${base}/block-me`, { method: "POST", headers: { dpop: proof } });
      expect(blocked.status).toBe(403);
      expect(await blocked.json()).toEqual({ problem: "ERR_DEVICE_BLOCKED" });
      const missing = await fetch(`${base}/block-me`, { method: "POST" });
      expect(missing.status).toBe(401);
      expect(missing.headers.get("www-authenticate")).toBe('DPoP algs="ES256"');
      expect(missing.headers.get("dpop-nonce")).toBeTruthy();
      expect(handled.map((h) => [h.code, h.statusCode])).toEqual([
        ["ERR_DEVICE_BLOCKED", 403],
        ["ERR_PROOF_MISSING", 401],
      ]);
      expect(handled[1]?.nonce).toBe(missing.headers.get("dpop-nonce"));
    } finally {
      await app.close();
    }
  });

  it("reads the client address from Fastify's request.ip, so Fastify's trustProxy decides", async () => {
    const app = Fastify({ trustProxy: "127.0.0.1" });
    await app.register(devicebound, { binding });
    app.get("/ip", async (request) => ({ ip: app.devicebound.context(request).ipAddress }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const answer = await fetch(`${base}/ip`, {
        headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.9" },
      });
      expect(await answer.json()).toEqual({ ip: "203.0.113.9" });
    } finally {
      await app.close();
    }
  });
});
