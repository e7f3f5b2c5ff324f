// The plain Node and Fetch adapters against the same scenarios: a Node server on loopback and
// Fetch Request objects (Express, Fastify and Hono: their own *.test.ts on the real framework).
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceBinding } from "../device-binding.js";
import { createDeviceBinding, memoryStore } from "../index.node.js";
import { createTestDevice, type TestDevice } from "../testing/test-device.js";
import { nodeDeviceBinding } from "./express.js";
import { fetchDeviceBinding } from "./fetch.js";
import type { DeviceSession } from "./guard.js";

const SECRET = "adapter-test-secret-0123456789-abcdef";

/** What each adapter under test exposes to the shared scenarios. */
interface Harness {
  origin: string;
  /** Sends a request to the adapter and returns its answer. */
  send(
    path: string,
    init: { method?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  binding: DeviceBinding;
  sessions: Map<string, DeviceSession>;
  close(): Promise<void>;
}

const sessionOf = (
  sessions: Map<string, DeviceSession>,
  header: string | string[] | null | undefined,
) => sessions.get(String(Array.isArray(header) ? header[0] : (header ?? "")));

function makeBinding(origin: string) {
  return createDeviceBinding({ secret: SECRET, store: memoryStore(), publicOrigin: origin });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

async function nodeHarness(): Promise<Harness> {
  let glue!: ReturnType<typeof nodeDeviceBinding>;
  const sessions = new Map<string, DeviceSession>();
  const server = createServer((req, res) => {
    if (req.url === "/api/challenge") return void glue.challengeHandler()(req, res);
    void glue.requireDevice((r) => sessionOf(sessions, r.headers["x-session"]))(req, res, () => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          device: (req as { devicebound?: { device: { id: string } } }).devicebound?.device.id,
        }),
      );
    });
  });
  const origin = await listen(server);
  const binding = makeBinding(origin);
  glue = nodeDeviceBinding(binding);
  return {
    origin,
    binding,
    sessions,
    send: (p, init) => fetch(origin + p, init),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function fetchHarness(): Promise<Harness> {
  const origin = "https://app.example.com";
  const binding = makeBinding(origin);
  const sessions = new Map<string, DeviceSession>();
  const glue = fetchDeviceBinding(binding, { getIpAddress: () => "192.0.2.10" });
  async function handle(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === "/api/challenge") return glue.challengeResponse(request);
    const result = await glue.requireDevice(request, (r) =>
      sessionOf(sessions, r.headers.get("x-session")),
    );
    return result.ok
      ? glue.withNonce(request, Response.json({ device: result.device.id }))
      : result.response;
  }
  return {
    origin,
    binding,
    sessions,
    send: (p, init) => handle(new Request(origin + p, init)),
    close: async () => {},
  };
}

describe.each([
  ["Node http", nodeHarness],
  ["Fetch", fetchHarness],
] as const)("%s adapter", (_name, make) => {
  let h: Harness;
  let device: TestDevice;
  let deviceId: string;
  beforeAll(async () => {
    h = await make();
    device = await createTestDevice();
    // Registration (the sign-in route's job) with an unbound challenge, straight through the binding.
    const nonce = (await h.binding.createChallenge()).challenge;
    const signIn = await device.proof({
      method: "GET",
      url: `${h.origin.replace(/:80$/, "")}/api/private/me`,
      nonce,
    });
    const verified = await h.binding.verifyProof(signIn, {
      method: "GET",
      url: `${h.origin}/api/private/me`,
    });
    deviceId = (await h.binding.register("alice", verified)).device.id;
    h.sessions.set("s1", { userId: "alice", jkt: device.jkt });
  });
  afterAll(() => h.close());

  async function challenge(): Promise<string> {
    const r = await h.send("/api/challenge", {});
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("dpop-nonce")).toBeTruthy();
    return ((await r.json()) as { challenge: string }).challenge;
  }
  async function proofFor(key: TestDevice, method: string, path: string): Promise<string> {
    return key.proof({
      method,
      url: `${h.origin.replace(/:80$/, "")}${path}`,
      nonce: await challenge(),
    });
  }
  const me = async (headers: Record<string, string>) => h.send("/api/private/me", { headers });

  it("serves challenges and lets the bound device through", async () => {
    const r = await me({
      "x-session": "s1",
      DPoP: await proofFor(device, "GET", "/api/private/me"),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ device: deviceId });
  });

  it("answers a stolen session cookie without a proof with 401", async () => {
    const r = await me({ "x-session": "s1" });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toBe("ERR_PROOF_MISSING");
  });

  it("answers a proof from another key with 401", async () => {
    const thief = await createTestDevice();
    const r = await me({
      "x-session": "s1",
      DPoP: await proofFor(thief, "GET", "/api/private/me"),
    });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: string }).error).toBe("ERR_DEVICE_MISMATCH");
  });

  it("answers a proof without a challenge with use_dpop_nonce and a fresh nonce", async () => {
    const bare = await device.proof({
      method: "GET",
      url: `${h.origin.replace(/:80$/, "")}/api/private/me`,
    });
    const r = await me({ "x-session": "s1", DPoP: bare });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toContain('error="use_dpop_nonce"');
    expect(r.headers.get("dpop-nonce")).toBeTruthy();
  });

  it("answers no session with 401 and a blocked device with 403 at once", async () => {
    expect((await me({ DPoP: await proofFor(device, "GET", "/api/private/me") })).status).toBe(401);
    await h.binding.block("alice", deviceId);
    const r = await me({
      "x-session": "s1",
      DPoP: await proofFor(device, "GET", "/api/private/me"),
    });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: string }).error).toBe("ERR_DEVICE_BLOCKED");
    await h.binding.unblock("alice", deviceId);
  });
});
