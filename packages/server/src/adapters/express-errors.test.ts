// The README's Express integration, as documented, on Express 4 and Express 5: a failed check is
// a 401/403 with the RFC 9449 headers the browser retries on, never a 500 or a crashed process.
import { createServer, type Server } from "node:http";
import express5, { type Request, type Response } from "express";
import express4 from "express4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeviceBinding, memoryStore } from "../index.node.js";
import { createTestDevice, type TestDevice } from "../testing/test-device.js";
import { type DeviceSession, nodeDeviceBinding } from "./express.js";

const SECRET = "express-errors-secret-0123456789-abcdef";

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

describe.each([
  ["Express 4", express4 as unknown as typeof express5],
  ["Express 5", express5],
] as const)("the documented pattern on %s", (_name, express) => {
  let origin: string;
  let server: Server;
  let device: TestDevice;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const sessions = new Map<string, DeviceSession>();

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    const app = express();
    server = createServer(app);
    origin = await listen(server);
    const binding = createDeviceBinding({
      secret: SECRET,
      store: memoryStore(),
      publicOrigin: origin,
    });
    const glue = nodeDeviceBinding(binding);
    app.use(express.json());
    app.get("/api/challenge", glue.challengeHandler());
    app.post(
      "/api/login",
      glue.handle(async (req: Request, res: Response) => {
        const proof = await glue.verify(req, { singleUseChallenge: true });
        const { device } = await binding.register("alice", proof);
        sessions.set("s1", { userId: "alice", jkt: proof.jkt });
        res.json({ device: device.id });
      }),
    );
    app.get(
      "/api/crash",
      glue.handle(async () => {
        throw new Error("an application bug");
      }),
    );
    app.use(
      "/api/private",
      glue.requireDevice((req) => sessions.get(String(req.headers["x-session"]))),
    );
    app.get("/api/private/me", (_req, res) => void res.json({ ok: true }));
    app.use(glue.errorHandler());
    device = await createTestDevice();
  });

  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    await new Promise((resolve) => server.close(resolve));
  });

  const challenge = async () =>
    ((await (await fetch(`${origin}/api/challenge`)).json()) as { challenge: string }).challenge;

  it("answers a POST without a proof with 401 and a fresh challenge, and keeps serving", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${origin}/api/login`, { method: "POST" });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe('DPoP algs="ES256"');
      expect(r.headers.get("dpop-nonce")).toBeTruthy();
      expect(((await r.json()) as { error: string }).error).toBe("ERR_PROOF_MISSING");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  });

  it("answers a proof with a stale challenge with use_dpop_nonce, then accepts the retry", async () => {
    const stale = await device.proof({
      method: "POST",
      url: `${origin}/api/login`,
      nonce: "stale",
    });
    const first = await fetch(`${origin}/api/login`, { method: "POST", headers: { DPoP: stale } });
    expect(first.status).toBe(401);
    expect(first.headers.get("www-authenticate")).toContain('error="use_dpop_nonce"');
    const nonce = first.headers.get("dpop-nonce") as string;
    const retry = await device.proof({ method: "POST", url: `${origin}/api/login`, nonce });
    const second = await fetch(`${origin}/api/login`, { method: "POST", headers: { DPoP: retry } });
    expect(second.status).toBe(200);
  });

  it("guards API routes, and leaves other errors to Express (500, no stack to the client)", async () => {
    const proof = await device.proof({
      method: "GET",
      url: `${origin}/api/private/me`,
      nonce: await challenge(),
    });
    const ok = await fetch(`${origin}/api/private/me`, {
      headers: { DPoP: proof, "x-session": "s1" },
    });
    expect(ok.status).toBe(200);
    const noSession = await fetch(`${origin}/api/private/me`);
    expect(noSession.status).toBe(401);
    const crash = await fetch(`${origin}/api/crash`);
    expect(crash.status).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  });
});
