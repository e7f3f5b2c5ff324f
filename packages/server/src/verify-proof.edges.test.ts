// The verifier at the edges of what its README promises: the exact end of the acceptance window,
// a fleet whose clocks disagree, exp, jti, request targets, challenge binding, Ed25519 keys that
// are not what they seem, and what unauthenticated traffic can make it keep.
import { base64urlEncode } from "@devicebound/wire";
import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { nodeCrypto } from "./crypto-node.js";
import { webCrypto } from "./crypto-web.js";
import { createDeviceBinding } from "./index.node.js";
import { memoryStore } from "./memory-store.js";
import { API_URL, b64json, decode, GET, ORIGIN, SECRET, START_MS, setup } from "./test-fixtures.js";
import { createTestDevice } from "./testing/test-device.js";

const MAX_AGE = 60;
const SKEW = 15;
const WINDOW_MS = (MAX_AGE + SKEW) * 1000;

describe("the end of the acceptance window", () => {
  it("refuses at exactly iat + maxAge + skew, and replays until then, with nothing in between", async () => {
    const f = await setup();
    const iat = Math.floor(START_MS / 1000);
    const proof = await f.proof({ iat });
    await expect(f.binding.verifyProof(proof, GET)).resolves.toBeTruthy();
    f.advance(WINDOW_MS - 1);
    await expect(f.binding.verifyProof(proof, GET)).rejects.toMatchObject({
      code: "ERR_PROOF_REPLAYED",
    });
    f.advance(1);
    // Hammered at the boundary instant: never accepted again.
    const results = await Promise.all(
      Array.from({ length: 50 }, () => f.binding.verifyProof(proof, GET).catch((e) => e.code)),
    );
    expect(new Set(results)).toEqual(new Set(["ERR_PROOF_IAT"]));
  });

  it("never accepts a replay on a server whose clock lags the fleet by 20 s or by 74 s", async () => {
    for (const lagMs of [20_000, 74_000]) {
      let fleetMs = START_MS;
      const shared = memoryStore({ now: () => fleetMs });
      const make = (offsetMs: number) =>
        createDeviceBinding({
          secret: SECRET,
          store: shared,
          publicOrigin: ORIGIN,
          now: () => fleetMs - offsetMs,
          crypto: nodeCrypto(),
        });
      const onTime = make(0);
      const lagging = make(lagMs);
      const device = await createTestDevice();
      const iat = Math.floor(START_MS / 1000);
      const nonce = (await onTime.createChallenge()).challenge;
      const proof = await device.proof({ ...GET, iat, nonce });
      await expect(onTime.verifyProof(proof, GET)).resolves.toBeTruthy();
      // Every second until the lagging server stops accepting the proof's iat.
      for (let t = 0; t <= WINDOW_MS + lagMs + 1000; t += 1000) {
        fleetMs = START_MS + t;
        const code = await lagging.verifyProof(proof, GET).then(
          () => "accepted",
          (e) => e.code,
        );
        expect(code, `at +${t} ms with ${lagMs} ms lag`).not.toBe("accepted");
      }
    }
  });
});

describe("claims", () => {
  it("refuses an exp in the past, at the instant, or not a number; accepts one in the future", async () => {
    const f = await setup();
    const nowS = Math.floor(START_MS / 1000);
    for (const exp of [nowS - 1, nowS, "never", null, { at: nowS + 60 }]) {
      const proof = await f.proof({ claims: { exp } });
      await expect(f.binding.verifyProof(proof, GET), String(exp)).rejects.toMatchObject({
        code: "ERR_PROOF_EXPIRED",
      });
    }
    await expect(
      f.binding.verifyProof(await f.proof({ claims: { exp: nowS + 1 } }), GET),
    ).resolves.toBeTruthy();
  });

  it("takes only printable ASCII as jti, so every store keys it the same", async () => {
    const f = await setup();
    for (const jti of ["a\u0000b", "lone\ud800", "é", "with space", "tab\t", "x".repeat(257)]) {
      await expect(f.binding.verifyProof(await f.proof({ jti }), GET), jti).rejects.toMatchObject({
        code: "ERR_PROOF_JTI",
      });
    }
    const ok = "A-z_0.9~!{}".padEnd(256, "x");
    await expect(f.binding.verifyProof(await f.proof({ jti: ok }), GET)).resolves.toBeTruthy();
  });
});

describe("request targets", () => {
  it("refuses targets that URL parsing would change, instead of comparing htu to another path", async () => {
    const f = await setup();
    for (const url of [
      "/x/../api/items",
      "/api/./items",
      "//evil.example/api/items",
      "/api\\items",
      "/api/%2e%2e/items",
      `${ORIGIN}/x/../api/items`,
    ]) {
      const proof = await f.proof();
      const error = await f.binding.verifyProof(proof, { method: "GET", url }).catch((e) => e);
      expect(error.code, url).toBe("ERR_PROOF_HTU");
      expect(error.details.reason, url).toBe("request-target-not-normalized");
    }
    await expect(
      f.binding.verifyProof(await f.proof(), { method: "GET", url: "/api/items?next=/../x" }),
    ).resolves.toBeTruthy();
  });
});

describe("challenge binding", () => {
  it("hashes IP and User-Agent so that no two pairs collide (length prefixes)", async () => {
    const f = await setup();
    const nonce = (await f.binding.createChallenge({ ipAddress: "a\nb", userAgent: "c" }))
      .challenge;
    await expect(
      f.binding.verifyProof(await f.proof({ nonce }), {
        ...GET,
        ipAddress: "a",
        userAgent: "b\nc",
      }),
    ).rejects.toMatchObject({ code: "ERR_CHALLENGE_BINDING" });
    await expect(
      f.binding.verifyProof(await f.proof({ nonce }), {
        ...GET,
        ipAddress: "a\nb",
        userAgent: "c",
      }),
    ).resolves.toBeTruthy();
  });
});

// RFC 8032 points of order 1, 2, 4 and 8, as a verifier sees them.
const SMALL_ORDER_HEX = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];
const hexToB64 = (hex: string) => base64urlEncode(Uint8Array.from(Buffer.from(hex, "hex")));

describe.each([
  ["node:crypto", nodeCrypto],
  ["Web Crypto", webCrypto],
] as const)("Ed25519 keys over %s", (_name, backend) => {
  it("the list holds exactly the points of small order (checked with @noble/curves)", () => {
    for (const hex of SMALL_ORDER_HEX) {
      const point = ed25519.Point.fromHex(hex);
      expect(point.multiply(8n).equals(ed25519.Point.ZERO), hex).toBe(true);
    }
  });

  it("refuses the identity key whose R = identity, S = 0 signature verifies anything", async () => {
    const f = await setup({ algorithms: ["ES256", "Ed25519"] }, backend());
    const nonce = await f.challenge();
    const claims = b64json({
      jti: "forged-1",
      htm: "GET",
      htu: API_URL,
      iat: Math.floor(START_MS / 1000),
      nonce,
    });
    const signature = hexToB64(`01${"00".repeat(31)}${"00".repeat(32)}`);
    for (const hex of SMALL_ORDER_HEX) {
      const header = b64json({
        typ: "dpop+jwt",
        alg: "EdDSA",
        jwk: { kty: "OKP", crv: "Ed25519", x: hexToB64(hex) },
      });
      await expect(
        f.binding.verifyProof(`${header}.${claims}.${signature}`, GET),
        hex,
      ).rejects.toMatchObject({ code: "ERR_PROOF_JWK" });
    }
  });

  it("refuses non-canonical encodings, which would give one point a second thumbprint", async () => {
    const f = await setup({ algorithms: ["Ed25519"] }, backend());
    // y = p + 2 (same point as y = 2), and y = 1 / y = p - 1 with the sign bit set.
    const nonCanonical = [
      "efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "0100000000000000000000000000000000000000000000000000000000000080",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ];
    for (const hex of nonCanonical) {
      const device = await createTestDevice("EdDSA");
      const proof = await device.proof({
        ...GET,
        iat: Math.floor(START_MS / 1000),
        nonce: await f.challenge(),
        header: { jwk: { kty: "OKP", crv: "Ed25519", x: hexToB64(hex) } },
      });
      await expect(f.binding.verifyProof(proof, GET), hex).rejects.toMatchObject({
        code: "ERR_PROOF_JWK",
      });
    }
  });
});

describe("what unauthenticated traffic can make the verifier keep", () => {
  it("refuses a header segment far larger than a real proof's before reading it", async () => {
    const f = await setup();
    const d = decode(await f.proof());
    const padded = b64json({ ...d.header, kid: "k".repeat(1024) });
    await expect(f.binding.verifyProof(`${padded}.${d.p}.${d.s}`, GET)).rejects.toMatchObject({
      code: "ERR_PROOF_TOO_LARGE",
    });
  });

  it("keeps nothing for proofs whose signature fails: 12,000 distinct headers grow the heap < 4 MB", async () => {
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const f = await setup();
    const d = decode(await f.proof());
    const wrongSignature = decode(await f.proof()).s;
    const flood = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        // Each header is distinct and as large as the size check allows (about 1 KB).
        const header = b64json({ ...d.header, kid: `${i}`.padEnd(700, "k") });
        await f.binding.verifyProof(`${header}.${d.p}.${wrongSignature}`, GET).catch(() => {});
      }
    };
    await flood(0, 500); // warm up code paths before measuring
    gc();
    const before = process.memoryUsage().heapUsed;
    await flood(500, 12_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  }, 60_000);
});
