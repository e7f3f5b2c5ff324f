import { calculateJwkThumbprint } from "jose";
import { describe, expect, it, vi } from "vitest";
import { nodeCrypto } from "./crypto-node.js";
import { webCrypto } from "./crypto-web.js";
import type { DeviceEvent } from "./events.js";
import { createDeviceBinding } from "./index.node.js";
import { memoryStore } from "./memory-store.js";
import { API_URL, decode, GET, SECRET, START_MS, setup } from "./test-fixtures.js";
import { createTestDevice } from "./testing/test-device.js";

describe.each([
  ["node:crypto", nodeCrypto],
  ["Web Crypto", webCrypto],
] as const)("verifyProof over %s", (_name, backend) => {
  it("accepts a valid proof and returns the key, its thumbprint and the claims", async () => {
    const f = await setup({}, backend());
    const proof = await f.proof();
    const verified = await f.binding.verifyProof(proof, {
      ...GET,
      userAgent: "UA",
      ipAddress: "192.0.2.1",
    });
    expect(verified.jkt).toBe(f.device.jkt);
    expect(verified.jkt).toBe(await calculateJwkThumbprint(f.device.jwk as never, "sha256"));
    expect(verified.jwk).toEqual(f.device.jwk);
    expect(verified.alg).toBe("ES256");
    expect(verified.claims).toEqual(decode(proof).claims);
    expect(verified.userAgent).toBe("UA");
    expect(verified.ipAddress).toBe("192.0.2.1");
  });

  it("accepts Ed25519 under both alg names when enabled", async () => {
    for (const alg of ["EdDSA", "Ed25519"]) {
      const device = await createTestDevice("EdDSA");
      const f = await setup({ algorithms: ["ES256", "Ed25519"] }, backend(), device);
      const proof = await f.proof({ header: { alg } });
      const verified = await f.binding.verifyProof(proof, GET);
      expect(verified.jkt).toBe(await calculateJwkThumbprint(device.jwk as never, "sha256"));
    }
  });

  it("refuses a bad signature", async () => {
    const f = await setup({}, backend());
    const d = decode(await f.proof());
    const other = decode(await f.proof());
    await expect(f.binding.verifyProof(`${d.h}.${d.p}.${other.s}`, GET)).rejects.toMatchObject({
      code: "ERR_PROOF_SIGNATURE",
    });
  });
});

describe("verifyProof: pinned decisions", () => {
  it("strips query and fragment from htu, accepts upper-case hosts and explicit default ports", async () => {
    const f = await setup();
    for (const htu of [
      `${API_URL}?a=1`,
      `${API_URL}#frag`,
      "https://APP.EXAMPLE.COM/api/items",
      "https://app.example.com:443/api/items",
      "HTTPS://app.example.com/api/items",
    ]) {
      const proof = await f.proof({ claims: { htu } });
      await expect(
        f.binding.verifyProof(proof, { method: "GET", url: `${API_URL}?q=2` }),
      ).resolves.toBeTruthy();
    }
  });

  it("takes the expected origin from configuration, never from the request's host", async () => {
    const f = await setup();
    // Behind a proxy the app sees an internal URL; htu names the public one.
    const proof = await f.proof();
    await expect(
      f.binding.verifyProof(proof, { method: "GET", url: "http://10.0.0.5:8080/api/items" }),
    ).resolves.toBeTruthy();
    const forged = await f.proof({ claims: { htu: "https://evil.example/api/items" } });
    await expect(
      f.binding.verifyRequest({
        method: "GET",
        url: "https://evil.example/api/items",
        headers: { dpop: forged, host: "evil.example", "x-forwarded-host": "evil.example" },
      }),
    ).rejects.toMatchObject({ code: "ERR_PROOF_HTU" });
  });

  it("compares htu with the request URL when no public origin is configured", async () => {
    const f = await setup({ publicOrigin: [] });
    const proof = await f.proof({ url: "http://localhost:3000/api/items" });
    await expect(
      f.binding.verifyProof(proof, { method: "GET", url: "http://localhost:3000/api/items?x" }),
    ).resolves.toBeTruthy();
    const other = await f.proof({ url: "http://localhost:3001/api/items" });
    await expect(
      f.binding.verifyProof(other, { method: "GET", url: "http://localhost:3000/api/items" }),
    ).rejects.toMatchObject({ code: "ERR_PROOF_HTU" });
  });

  it("accepts iat 10 s off either way and says how far off a refused one is", async () => {
    const f = await setup();
    const iat = Math.floor(START_MS / 1000);
    await expect(
      f.binding.verifyProof(await f.proof({ iat: iat + 10 }), GET),
    ).resolves.toBeTruthy();
    await expect(
      f.binding.verifyProof(await f.proof({ iat: iat - 10 }), GET),
    ).resolves.toBeTruthy();
    const error = await f.binding
      .verifyProof(await f.proof({ iat: iat + 3600 }), GET)
      .catch((e) => e);
    expect(error.code).toBe("ERR_PROOF_IAT");
    expect(error.details.skewSeconds).toBe(3600);
    expect(error.message).toContain("3600 s in the future");
  });

  it("keeps replay records one whole window past the acceptance window", async () => {
    const f = await setup();
    const consume = vi.spyOn(f.store, "consume");
    const iat = Math.floor(START_MS / 1000) + 14;
    await f.binding.verifyProof(await f.proof({ iat }), GET);
    expect(consume).toHaveBeenCalledWith(
      expect.stringMatching(/^jti:/),
      (iat + 2 * (60 + 15)) * 1000,
    );
  });

  it("keys replay on (jkt, jti): two devices may use the same jti", async () => {
    const f = await setup();
    const other = await setup({}, undefined);
    const shared = { jti: "same-jti" };
    await f.binding.verifyProof(await f.proof(shared), GET);
    const second = await other.device.proof({
      method: "GET",
      url: API_URL,
      iat: Math.floor(f.now() / 1000),
      nonce: await f.challenge(),
      ...shared,
    });
    await expect(f.binding.verifyProof(second, GET)).resolves.toBeTruthy();
  });

  it("accepts a high-S copy of an unused proof (replay is keyed on jti, never on the proof string)", async () => {
    const { highS } = await import("./test-fixtures.js");
    const { base64urlEncode } = await import("@devicebound/wire");
    const f = await setup();
    const d = decode(await f.proof());
    await expect(
      f.binding.verifyProof(`${d.h}.${d.p}.${base64urlEncode(highS(d.signature))}`, GET),
    ).resolves.toBeTruthy();
    await expect(f.binding.verifyProof(`${d.h}.${d.p}.${d.s}`, GET)).rejects.toMatchObject({
      code: "ERR_PROOF_REPLAYED",
    });
  });

  it("records nothing when any other check fails", async () => {
    const f = await setup();
    const consume = vi.spyOn(f.store, "consume");
    const proof = await f.proof({ claims: { htm: "POST" } });
    await expect(f.binding.verifyProof(proof, GET)).rejects.toMatchObject({
      code: "ERR_PROOF_HTM",
    });
    expect(consume).not.toHaveBeenCalled();
  });

  it("rejects when the replay store cannot be reached", async () => {
    const store = memoryStore();
    const binding = createDeviceBinding({
      secret: SECRET,
      store,
      replayStore: { consume: () => Promise.reject(new Error("ECONNREFUSED")) },
    });
    const device = await createTestDevice();
    const proof = await device.proof({
      method: "GET",
      url: API_URL,
      nonce: (await binding.createChallenge()).challenge,
    });
    await expect(binding.verifyProof(proof, GET)).rejects.toMatchObject({
      code: "ERR_STORE_UNAVAILABLE",
    });
  });

  it("tolerates ext and key_ops on the jwk without changing jkt", async () => {
    const f = await setup();
    const proof = await f.proof({
      header: { jwk: { ...f.device.jwk, ext: true, key_ops: ["verify"] } },
    });
    expect((await f.binding.verifyProof(proof, GET)).jkt).toBe(f.device.jkt);
  });

  it("ignores unknown claims and the kid, jku, x5u header members", async () => {
    const f = await setup();
    const proof = await f.proof({
      claims: { extra: { any: 1 } },
      header: { kid: "k", jku: "https://evil.example/jwks" },
    });
    expect((await f.binding.verifyProof(proof, GET)).jkt).toBe(f.device.jkt);
  });

  it("answers a proof without a challenge with use_dpop_nonce, unless challenges are optional", async () => {
    const f = await setup();
    const bare = await f.device.proof({ ...GET, iat: Math.floor(f.now() / 1000) });
    const error = await f.binding.verifyProof(bare, GET).catch((e) => e);
    expect(error.code).toBe("ERR_CHALLENGE_MISSING");
    const response = await f.binding.errorResponse(error);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain('error="use_dpop_nonce"');
    expect(response.headers.get("DPoP-Nonce")).toBeTruthy();
    await expect(
      f.binding.verifyProof(bare, { ...GET, requireChallenge: false }),
    ).resolves.toBeTruthy();
  });

  it("checks ath against the access token", async () => {
    const f = await setup();
    await expect(
      f.binding.verifyProof(await f.proof({ accessToken: "tok" }), { ...GET, accessToken: "tok" }),
    ).resolves.toBeTruthy();
  });
});

describe("verifyRequest", () => {
  it("reads the proof, User-Agent and DPoP access token from a Fetch Request", async () => {
    const f = await setup();
    const proof = await f.proof({ accessToken: "at-1" });
    const request = new Request(API_URL, {
      headers: { DPoP: proof, "User-Agent": "Firefox", Authorization: "DPoP at-1" },
    });
    const verified = await f.binding.verifyRequest(request);
    expect(verified.userAgent).toBe("Firefox");
  });

  it("reads Node-style headers, and a path resolved against the public origin", async () => {
    const f = await setup();
    const proof = await f.proof();
    await expect(
      f.binding.verifyRequest({ method: "GET", url: "/api/items?x=1", headers: { dpop: proof } }),
    ).resolves.toBeTruthy();
  });

  it("refuses duplicate DPoP headers in every form", async () => {
    const f = await setup();
    const [a, b] = [await f.proof(), await f.proof()];
    const forms = [
      { dpop: [a, b] },
      { dpop: `${a}, ${b}` },
      { DPoP: a, dpop: b },
      (() => {
        const h = new Headers();
        h.append("DPoP", a);
        h.append("DPoP", b);
        return h;
      })(),
    ];
    for (const headers of forms) {
      await expect(
        f.binding.verifyRequest({ method: "GET", url: API_URL, headers }),
      ).rejects.toMatchObject({ code: "ERR_PROOF_MULTIPLE" });
    }
    await expect(
      f.binding.verifyRequest({ method: "GET", url: API_URL, headers: {} }),
    ).rejects.toMatchObject({ code: "ERR_PROOF_MISSING" });
  });
});

describe("challenges", () => {
  it("are accepted by another server that shares the secret, and survive rotation", async () => {
    const a = await setup({ secret: SECRET });
    const proof = await a.proof();
    const b = await setup({ secret: ["a-brand-new-secret-of-32-bytes-or-more!", SECRET] });
    await expect(b.binding.verifyProof(proof, GET)).resolves.toBeTruthy();
    const c = await setup({ secret: "a-brand-new-secret-of-32-bytes-or-more!" });
    await expect(c.binding.verifyProof(await a.proof(), GET)).rejects.toMatchObject({
      code: "ERR_CHALLENGE_INVALID",
    });
  });

  it("carry their expiry, and may be bound to IP and User-Agent", async () => {
    const f = await setup({ challengeTtlSeconds: 120 });
    const challenge = await f.binding.createChallenge({
      ipAddress: "192.0.2.7",
      userAgent: "Chrome",
    });
    expect(challenge.expiresAt).toBe(Math.floor(START_MS / 1000) + 120);
    const proof = await f.proof({ nonce: challenge.challenge });
    await expect(
      f.binding.verifyProof(proof, { ...GET, ipAddress: "192.0.2.7", userAgent: "Chrome" }),
    ).resolves.toBeTruthy();
  });

  it("are unique", async () => {
    const f = await setup();
    const seen = new Set(await Promise.all(Array.from({ length: 200 }, () => f.challenge())));
    expect(seen.size).toBe(200);
  });
});

describe("options and events", () => {
  it("throws TypeError for misuse", async () => {
    const store = memoryStore();
    expect(() => createDeviceBinding({ secret: "short", store })).toThrow(TypeError);
    expect(() => createDeviceBinding({ secret: [], store })).toThrow(TypeError);
    expect(() => createDeviceBinding({ secret: SECRET, store: {} as never })).toThrow(TypeError);
    expect(() =>
      createDeviceBinding({ secret: SECRET, store, publicOrigin: "https://a.example/path" }),
    ).toThrow(TypeError);
    expect(() =>
      createDeviceBinding({ secret: SECRET, store, algorithms: ["RS256" as never] }),
    ).toThrow(TypeError);
    expect(() => createDeviceBinding({ secret: SECRET, store, proofMaxAgeSeconds: -1 })).toThrow(
      TypeError,
    );
    const binding = createDeviceBinding({ secret: SECRET, store });
    expect(() => binding.verifyProof("x", { method: "GET", url: "/relative" })).toThrow(TypeError);
    expect(() => binding.verifyProof("x", undefined as never)).toThrow(TypeError);
  });

  it("reports verificationFailed with the code, and a throwing handler changes nothing", async () => {
    const events: DeviceEvent[] = [];
    const f = await setup({
      onEvent: (event) => {
        events.push(event);
        throw new Error("handler bug");
      },
    });
    await expect(f.binding.verifyProof("garbage", GET)).rejects.toMatchObject({
      code: "ERR_PROOF_MALFORMED",
    });
    expect(events).toEqual([
      { type: "verificationFailed", code: "ERR_PROOF_MALFORMED", message: expect.any(String) },
    ]);
    const rejecting = await setup({ onEvent: () => Promise.reject(new Error("async bug")) });
    await expect(rejecting.binding.verifyProof("garbage", GET)).rejects.toMatchObject({
      code: "ERR_PROOF_MALFORMED",
    });
  });
});
