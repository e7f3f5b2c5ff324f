// The DBSC routes of the Fastify and Express adapters: one call each mounts registration and
// refresh at the configured paths, answering exactly what the core answers (cookies included).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createDeviceBinding, memoryStore } from "../index.node.js";
import { createTestDbscClient, type Send } from "../testing/dbsc-client.js";
import { createTestDevice } from "../testing/test-device.js";
import { nodeDeviceBinding } from "./express.js";
import { fastifyDeviceBinding } from "./fastify.js";

const ORIGIN = "https://app.example.com";
const SECRET = "dbsc-adapter-secret-0123456789-abcdef-0";
const dbsc = { registrationPath: "/auth/dbsc/start", refreshPath: "/auth/dbsc/refresh" };

async function signedInDevice(binding: ReturnType<typeof createDeviceBinding>) {
  const key = await createTestDevice();
  const nonce = (await binding.createChallenge()).challenge;
  const proof = await binding.verifyProof(
    await key.proof({ method: "POST", url: `${ORIGIN}/login`, nonce }),
    { method: "POST", url: `${ORIGIN}/login` },
  );
  return (await binding.register("alice", proof)).device;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe("Fastify DBSC routes", () => {
  it("start, registration and refresh (through the 403 step) at the configured paths", async () => {
    const binding = createDeviceBinding({
      secret: SECRET,
      store: memoryStore(),
      publicOrigin: ORIGIN,
      dbsc,
    });
    const glue = fastifyDeviceBinding(binding);
    const device = await signedInDevice(binding);
    const app = Fastify();
    app.post("/login", async (request, reply) => {
      const sessionId = await glue.startDbsc(request, reply, { userId: "alice", device });
      return { sessionId };
    });
    app.post(binding.dbsc.registrationPath, glue.dbscRegistration());
    app.post(binding.dbsc.refreshPath, glue.dbscRefresh());
    closers.push(() => app.close());
    const send: Send = async (request) => {
      const response = await app.inject({
        method: request.method as "POST",
        url: new URL(request.url).pathname,
        headers: Object.fromEntries(request.headers),
      });
      const headers = new Headers();
      for (const [name, value] of Object.entries(response.headers))
        for (const v of [value].flat()) headers.append(name, String(v));
      return new Response(response.body, { status: response.statusCode, headers });
    };
    const login = await send(new Request(`${ORIGIN}/login`, { method: "POST" }));
    const client = await createTestDbscClient();
    expect((await client.register(send, login.headers, ORIGIN)).status).toBe(200);
    expect(client.config?.refresh_url).toBe("/auth/dbsc/refresh");
    expect(client.cookie).toMatch(/^__Host-devicebound-dbsc=/);
    client.cachedChallenge = null;
    expect((await client.refresh(send, ORIGIN)).status).toBe(200);
  });
});

describe("Express DBSC routes", () => {
  it("start, registration and refresh at the configured paths, over a real socket", async () => {
    const binding = createDeviceBinding({
      secret: SECRET,
      store: memoryStore(),
      publicOrigin: ORIGIN,
      dbsc,
    });
    const glue = nodeDeviceBinding(binding);
    const device = await signedInDevice(binding);
    const app = express();
    app.post(
      "/login",
      glue.handle(async (req: express.Request, res: express.Response) => {
        res.json({ sessionId: await glue.startDbsc(req, res, { userId: "alice", device }) });
      }),
    );
    app.post(binding.dbsc.registrationPath, glue.dbscRegistration());
    app.post(binding.dbsc.refreshPath, glue.dbscRefresh());
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send: Send = (request) => {
      const url = new URL(request.url);
      return fetch(`${base}${url.pathname}`, { method: request.method, headers: request.headers });
    };
    const login = await send(new Request(`${ORIGIN}/login`, { method: "POST" }));
    expect(login.headers.get("Secure-Session-Registration")).toMatch(/path="\/auth\/dbsc\/start"/);
    expect(login.headers.get("Sec-Session-Registration")).toBe(
      login.headers.get("Secure-Session-Registration"),
    );
    const client = await createTestDbscClient({ alg: "RS256", generation: "legacy" });
    expect((await client.register(send, login.headers, ORIGIN)).status).toBe(200);
    client.cachedChallenge = null;
    const refreshed = await client.refresh(send, ORIGIN);
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.getSetCookie()).toHaveLength(1);
  });
});
