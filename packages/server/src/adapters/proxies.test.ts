// Which client address each adapter binds challenges to and reports, behind proxies that append
// to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, cloud load balancers): the client writes
// whatever it likes on the left, so only entries appended by proxies the app runs are trusted.
import { createServer, type IncomingMessage, type Server } from "node:http";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeviceBinding, memoryStore } from "../index.node.js";
import { createTestDevice, type TestDevice } from "../testing/test-device.js";
import { nodeDeviceBinding } from "./express.js";
import { fastifyDeviceBinding } from "./fastify.js";
import { fetchDeviceBinding } from "./fetch.js";
import { clientAddress, trustedHops } from "./guard.js";

const SECRET = "proxies-secret-0123456789-abcdef-0123456";
const ORIGIN = "https://app.example.com";
const binding = () =>
  createDeviceBinding({ secret: SECRET, store: memoryStore(), publicOrigin: ORIGIN });

describe("clientAddress", () => {
  it("counts trusted hops from the right of X-Forwarded-For", () => {
    const xff = "6.6.6.6, 198.51.100.7, 10.0.0.2";
    expect(clientAddress("10.0.0.3", xff, 0)).toBe("10.0.0.3");
    expect(clientAddress("10.0.0.3", xff, 1)).toBe("10.0.0.2");
    expect(clientAddress("10.0.0.3", xff, 2)).toBe("198.51.100.7");
    // More hops than entries: the farthest address there is.
    expect(clientAddress("10.0.0.3", "198.51.100.7", 5)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.3", undefined, 1)).toBe("10.0.0.3");
    // Repeated headers count as one list, in order.
    expect(clientAddress("10.0.0.3", ["6.6.6.6", "198.51.100.7"], 1)).toBe("198.51.100.7");
  });

  it("reads trustProxy as hops, and refuses anything else", () => {
    expect([trustedHops(undefined), trustedHops(false), trustedHops(true), trustedHops(2)]).toEqual(
      [0, 0, 1, 2],
    );
    for (const bad of [-1, 1.5, Number.NaN, "1"]) {
      expect(() => trustedHops(bad as never)).toThrow(TypeError);
    }
  });
});

describe("the Node/Express adapter behind one appending proxy", () => {
  let server: Server;
  let base: string;
  const seen: (string | null)[] = [];
  let device: TestDevice;
  beforeAll(async () => {
    const b = binding();
    const glue = nodeDeviceBinding(b, { trustProxy: true });
    device = await createTestDevice();
    server = createServer(async (req: IncomingMessage, res) => {
      if (req.url === "/challenge") return void glue.challengeHandler()(req, res);
      try {
        const proof = await glue.verify(req);
        seen.push(proof.ipAddress);
        res.end("ok");
      } catch (error) {
        await glue.sendError(req, res, error);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("binds the challenge to the address the proxy appended, not the one the client wrote", async () => {
    // The client (203.0.113.9) forged a left-most entry; the proxy appended the real address.
    const viaProxy = { "X-Forwarded-For": "6.6.6.6, 203.0.113.9" };
    const { challenge } = (await (
      await fetch(`${base}/challenge`, { headers: viaProxy })
    ).json()) as {
      challenge: string;
    };
    const proof = await device.proof({ method: "GET", url: `${ORIGIN}/api`, nonce: challenge });
    const ok = await fetch(`${base}/api`, { headers: { ...viaProxy, DPoP: proof } });
    expect(ok.status).toBe(200);
    expect(seen).toEqual(["203.0.113.9"]);
    // The same challenge from another real address (same forged left entry) is refused.
    const moved = await device.proof({ method: "GET", url: `${ORIGIN}/api`, nonce: challenge });
    const refused = await fetch(`${base}/api`, {
      headers: { "X-Forwarded-For": "6.6.6.6, 198.51.100.1", DPoP: moved },
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toBe("ERR_CHALLENGE_BINDING");
  });
});

describe("the Fastify adapter", () => {
  it("defaults to Fastify's own request.ip, so Fastify's trustProxy decides", async () => {
    for (const [trustProxy, expected] of [
      [false, "127.0.0.1"],
      [true, "6.6.6.6"], // Fastify's true trusts everything: the left-most entry
      ["127.0.0.1", "203.0.113.9"], // trust the proxy's own address only
    ] as const) {
      const app = Fastify({ trustProxy });
      const glue = fastifyDeviceBinding(binding());
      app.get("/ip", async (request) => ({ ip: glue.context(request).ipAddress }));
      const r = await app.inject({
        method: "GET",
        url: "/ip",
        headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.9" },
        remoteAddress: "127.0.0.1",
      });
      expect(r.json().ip, String(trustProxy)).toBe(expected);
      await app.close();
    }
  });

  it("counts from the right when trustProxy is given to the adapter", async () => {
    const app = Fastify();
    const glue = fastifyDeviceBinding(binding(), { trustProxy: 1 });
    app.get("/ip", async (request) => ({ ip: glue.context(request).ipAddress }));
    const r = await app.inject({
      method: "GET",
      url: "/ip",
      headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.9" },
      remoteAddress: "127.0.0.1",
    });
    expect(r.json().ip).toBe("203.0.113.9");
    await app.close();
  });
});

describe("the Fetch adapter", () => {
  it("requires a choice about the client address instead of silently binding to none", () => {
    expect(() => fetchDeviceBinding(binding())).toThrow(TypeError);
    expect(() => fetchDeviceBinding(binding(), { getIpAddress: "x" as never })).toThrow(TypeError);
    const none = fetchDeviceBinding(binding(), { getIpAddress: false });
    expect(none.context(new Request(`${ORIGIN}/`)).ipAddress).toBeUndefined();
    const platform = fetchDeviceBinding(binding(), { getIpAddress: () => "192.0.2.4" });
    expect(platform.context(new Request(`${ORIGIN}/`)).ipAddress).toBe("192.0.2.4");
    const proxied = fetchDeviceBinding(binding(), { trustProxy: 1 });
    const request = new Request(`${ORIGIN}/`, {
      headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.9" },
    });
    expect(proxied.context(request).ipAddress).toBe("203.0.113.9");
  });
});

describe("adapters that receive only a path", () => {
  it("refuse at construction a binding without publicOrigin, instead of failing every request", () => {
    const bare = createDeviceBinding({ secret: SECRET, store: memoryStore() });
    expect(() => nodeDeviceBinding(bare)).toThrow(TypeError);
    expect(() => fastifyDeviceBinding(bare)).toThrow(TypeError);
    expect(() => fetchDeviceBinding(bare, { getIpAddress: false })).not.toThrow();
  });
});
