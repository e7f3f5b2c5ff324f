// Through require(), as CommonJS apps load us: each .cjs entry bundles its own copy of the error
// class, so an error made in one must still get its own status from another (401, not 400).
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const dist = (entry: string) => require(`../../dist/${entry}.cjs`);
const SECRET = "commonjs-secret-0123456789-abcdef-0123";
const ORIGIN = "https://app.example.com";

describe("the CommonJS builds", () => {
  const server = dist("index.node");
  const binding = server.createDeviceBinding({
    secret: SECRET,
    store: server.memoryStore(),
    publicOrigin: ORIGIN,
  });

  it("answers 'not signed in' from the Fetch adapter with 401", async () => {
    const glue = dist("fetch").fetchDeviceBinding(binding, { getIpAddress: false });
    const result = await glue.requireDevice(new Request(`${ORIGIN}/api/me`), () => null);
    expect(result.ok).toBe(false);
    expect(result.response.status).toBe(401);
    expect((await result.response.json()).error).toBe("ERR_DEVICE_MISMATCH");
  });

  it("answers 'not signed in' and a missing proof from the Express adapter with 401", async () => {
    const express = require("express");
    const { createServer } = require("node:http");
    const glue = dist("express").nodeDeviceBinding(binding);
    const app = express();
    const sessions: Record<string, unknown> = { s1: { userId: "alice", jkt: "x" } };
    app.use(
      "/api",
      glue.requireDevice(
        (req: { headers: Record<string, string> }) => sessions[req.headers["x-session"] ?? ""],
      ),
    );
    const listening = createServer(app).listen(0, "127.0.0.1");
    await new Promise((resolve) => listening.once("listening", resolve));
    try {
      const base = `http://127.0.0.1:${listening.address().port}`;
      const noSession = await fetch(`${base}/api/me`);
      expect(noSession.status).toBe(401);
      expect((await noSession.json()).error).toBe("ERR_DEVICE_MISMATCH");
      const noProof = await fetch(`${base}/api/me`, { headers: { "x-session": "s1" } });
      expect(noProof.status).toBe(401);
      expect((await noProof.json()).error).toBe("ERR_PROOF_MISSING");
    } finally {
      await new Promise((resolve) => listening.close(resolve));
    }
  });

  it("answers 'not signed in' from the Fastify adapter with 401", async () => {
    const Fastify = require("fastify");
    const glue = dist("fastify").fastifyDeviceBinding(binding);
    const app = Fastify();
    app.get("/api/me", { preHandler: glue.requireDevice(() => null) }, async () => ({ ok: true }));
    const r = await app.inject({ method: "GET", url: "/api/me" });
    expect(r.statusCode).toBe(401);
    expect(r.json().code).toBe("ERR_DEVICE_MISMATCH");
    await app.close();
  });

  it("classifies errors the same across the ESM and CommonJS builds", async () => {
    const esm = await import("../index.node.js");
    const foreign = new server.DeviceBindingError("ERR_DEVICE_BLOCKED", "blocked");
    expect(foreign instanceof esm.DeviceBindingError).toBe(false);
    expect(esm.isDeviceBindingError(foreign, "ERR_DEVICE_BLOCKED")).toBe(true);
    const esmBinding = esm.createDeviceBinding({
      secret: SECRET,
      store: esm.memoryStore(),
      publicOrigin: ORIGIN,
    });
    expect((await esmBinding.errorResponse(foreign)).status).toBe(403);
  });
});
