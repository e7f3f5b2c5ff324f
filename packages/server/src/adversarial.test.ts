// The adversarial battery: hostile or malformed proofs, each refused with its expected code.

import {
  base64urlDecode,
  base64urlEncode,
  DeviceBindingError,
  type DeviceBindingErrorCode,
} from "@devicebound/wire";
import { p256 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import {
  API_URL,
  b64json,
  b64text,
  decode,
  type Fixture,
  GET,
  highS,
  ORIGIN,
  setup,
} from "./test-fixtures.js";
import { createTestDevice } from "./testing/test-device.js";
import type { VerifyProofOptions } from "./verify-proof.js";

interface Case {
  name: string;
  code: DeviceBindingErrorCode;
  /** Returns the proof (and optionally other request options) to verify. */
  make(
    f: Fixture,
  ): Promise<string | { proof: string | undefined; opts?: Partial<VerifyProofOptions> }>;
  /** Options for the binding under test. */
  binding?: Parameters<typeof setup>[0];
}

/** Re-signs a proof after changing its header and claims. */
async function forge(
  f: Fixture,
  header: (h: Record<string, unknown>) => Record<string, unknown> | string,
  claims: (c: Record<string, unknown>) => Record<string, unknown> | string = (c) => c,
): Promise<string> {
  const d = decode(await f.proof());
  const h = header(d.header);
  const c = claims(d.claims);
  return f.device.signSegments(
    typeof h === "string" ? b64text(h) : b64json(h),
    typeof c === "string" ? b64text(c) : b64json(c),
  );
}
const claims =
  (change: (c: Record<string, unknown>) => Record<string, unknown> | string) => (f: Fixture) =>
    forge(f, (h) => h, change);
const header =
  (change: (h: Record<string, unknown>) => Record<string, unknown> | string) => (f: Fixture) =>
    forge(f, change);
const jwkChange = (change: (jwk: Record<string, unknown>) => unknown) =>
  header((h) => ({ ...h, jwk: change({ ...(h.jwk as Record<string, unknown>) }) }));
const withoutKey = (o: Record<string, unknown>, key: string) => {
  const { [key]: _, ...rest } = o;
  return rest;
};
const segments = (proof: string) => proof.split(".") as [string, string, string];

function offCurveY(jwk: Record<string, unknown>): string {
  const y = base64urlDecode(jwk.y as string) as Uint8Array;
  const x = BigInt(
    `0x${Buffer.from(base64urlDecode(jwk.x as string) as Uint8Array).toString("hex")}`,
  );
  for (let bump = 1; ; bump++) {
    const candidate = Uint8Array.from(y);
    candidate[31] = ((candidate[31] as number) + bump) & 0xff;
    const yy = BigInt(`0x${Buffer.from(candidate).toString("hex")}`);
    try {
      p256.Point.fromAffine({ x, y: yy }).assertValidity();
    } catch {
      return base64urlEncode(candidate);
    }
  }
}

const HOUR = 3600;
const cases: Case[] = [
  // Shape and encoding.
  { name: "empty string", code: "ERR_PROOF_MISSING", make: async () => "" },
  { name: "no proof at all", code: "ERR_PROOF_MISSING", make: async () => ({ proof: undefined }) },
  {
    name: "one segment",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => segments(await f.proof())[0],
  },
  {
    name: "two segments",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) =>
      segments(await f.proof())
        .slice(0, 2)
        .join("."),
  },
  {
    name: "four segments",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => `${await f.proof()}.AAAA`,
  },
  {
    name: "empty signature",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) =>
      `${segments(await f.proof())
        .slice(0, 2)
        .join(".")}.`,
  },
  {
    name: "empty header",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) =>
      `.${segments(await f.proof())
        .slice(1)
        .join(".")}`,
  },
  {
    name: "padding in a segment",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      return `${h}=.${p}.${s}`;
    },
  },
  {
    name: "standard base64 alphabet",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      return `${h}.${p}.${s.slice(0, -2)}+/`;
    },
  },
  {
    name: "whitespace inside",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      return `${h}.${p.slice(0, 10)} ${p.slice(10)}.${s}`;
    },
  },
  {
    name: "non-ASCII character",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      return `${h}.${p}é.${s}`;
    },
  },
  {
    name: "signature truncated by one character",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => (await f.proof()).slice(0, -1),
  },
  {
    name: "signature cut to 60 bytes",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const d = decode(await f.proof());
      return `${d.h}.${d.p}.${base64urlEncode(d.signature.subarray(0, 60))}`;
    },
  },
  {
    name: "huge proof",
    code: "ERR_PROOF_TOO_LARGE",
    make: async (f) => claims((c) => ({ ...c, pad: "x".repeat(9000) }))(f),
  },
  { name: "header not JSON", code: "ERR_PROOF_MALFORMED", make: header(() => "not json") },
  { name: "header a JSON array", code: "ERR_PROOF_MALFORMED", make: header(() => "[1,2]") },
  { name: "claims not JSON", code: "ERR_PROOF_MALFORMED", make: claims(() => "{nope") },
  {
    name: "duplicate typ in header",
    code: "ERR_PROOF_MALFORMED",
    make: header((h) => JSON.stringify(h).replace("{", '{"typ":"JWT",')),
  },
  {
    name: "duplicate htm claim",
    code: "ERR_PROOF_MALFORMED",
    make: claims((c) => JSON.stringify(c).replace("{", '{"htm":"POST",')),
  },
  {
    name: "__proto__ claim",
    code: "ERR_PROOF_MALFORMED",
    make: claims((c) => JSON.stringify(c).replace("{", '{"__proto__":{"htm":"GET"},')),
  },
  {
    name: "invalid UTF-8 in claims",
    code: "ERR_PROOF_MALFORMED",
    make: async (f) => {
      const [h] = segments(await f.proof());
      return f.device.signSegments(h, base64urlEncode(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])));
    },
  },
  {
    name: "deeply nested claims",
    code: "ERR_PROOF_MALFORMED",
    make: claims((c) =>
      JSON.stringify({ ...c, deep: 0 }).replace("0}", `${"[".repeat(50)}${"]".repeat(50)}}`),
    ),
  },
  {
    name: "trailing garbage after header JSON",
    code: "ERR_PROOF_MALFORMED",
    make: header((h) => `${JSON.stringify(h)}x`),
  },
  // JOSE header.
  { name: "typ missing", code: "ERR_PROOF_TYP", make: header((h) => withoutKey(h, "typ")) },
  { name: "typ JWT", code: "ERR_PROOF_TYP", make: header((h) => ({ ...h, typ: "JWT" })) },
  {
    name: "typ in upper case",
    code: "ERR_PROOF_TYP",
    make: header((h) => ({ ...h, typ: "DPOP+JWT" })),
  },
  { name: "alg none", code: "ERR_PROOF_ALG", make: header((h) => ({ ...h, alg: "none" })) },
  { name: "alg HS256", code: "ERR_PROOF_ALG", make: header((h) => ({ ...h, alg: "HS256" })) },
  { name: "alg RS256", code: "ERR_PROOF_ALG", make: header((h) => ({ ...h, alg: "RS256" })) },
  { name: "alg ES384", code: "ERR_PROOF_ALG", make: header((h) => ({ ...h, alg: "ES384" })) },
  {
    name: "alg EdDSA when not allowed",
    code: "ERR_PROOF_ALG",
    make: header((h) => ({ ...h, alg: "EdDSA" })),
  },
  { name: "alg missing", code: "ERR_PROOF_ALG", make: header((h) => withoutKey(h, "alg")) },
  {
    name: "crit with an extension",
    code: "ERR_PROOF_CRIT",
    make: header((h) => ({ ...h, crit: ["exp"], exp: 1 })),
  },
  { name: "crit empty", code: "ERR_PROOF_CRIT", make: header((h) => ({ ...h, crit: [] })) },
  {
    name: "b64=false via crit",
    code: "ERR_PROOF_CRIT",
    make: header((h) => ({ ...h, b64: false, crit: ["b64"] })),
  },
  // The embedded key.
  { name: "jwk missing", code: "ERR_PROOF_JWK", make: header((h) => withoutKey(h, "jwk")) },
  {
    name: "jwk with private d",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => ({ ...j, d: "A".repeat(43) })),
  },
  {
    name: "jwk RSA",
    code: "ERR_PROOF_JWK",
    make: jwkChange(() => ({ kty: "RSA", n: "AQAB", e: "AQAB" })),
  },
  { name: "jwk P-384", code: "ERR_PROOF_JWK", make: jwkChange((j) => ({ ...j, crv: "P-384" })) },
  {
    name: "jwk OKP under ES256",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => ({ kty: "OKP", crv: "Ed25519", x: j.x })),
  },
  {
    name: "jwk x with a leading zero byte (33 bytes)",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => ({
      ...j,
      x: base64urlEncode(Uint8Array.from([0, ...(base64urlDecode(j.x as string) as Uint8Array)])),
    })),
  },
  {
    name: "jwk x with = padding",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => ({ ...j, x: `${j.x}=` })),
  },
  {
    name: "jwk y with non-zero pad bits",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => {
      const y = j.y as string;
      const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(
        y.slice(-1),
      );
      return {
        ...j,
        y:
          y.slice(0, -1) +
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1],
      };
    }),
  },
  { name: "jwk y missing", code: "ERR_PROOF_JWK", make: jwkChange((j) => withoutKey(j, "y")) },
  {
    name: "jwk point off the curve",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => ({ ...j, y: offCurveY(j) })),
  },
  {
    name: "jwk with an unknown member",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => ({ ...j, x5c: ["MIIB"] })),
  },
  { name: "jwk a string", code: "ERR_PROOF_JWK", make: jwkChange(() => "eyJrdHkiOiJFQyJ9") },
  {
    name: "jwk alg that disagrees",
    code: "ERR_PROOF_JWK",
    make: jwkChange((j) => ({ ...j, alg: "ES384" })),
  },
  {
    name: "another key's jwk",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const other = await createTestDevice();
      return forge(f, (h) => ({ ...h, jwk: other.jwk }));
    },
  },
  {
    name: "kid, jku, x5u pointing elsewhere with another key's jwk",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const other = await createTestDevice();
      return forge(f, (h) => ({
        ...h,
        jwk: other.jwk,
        kid: "k1",
        jku: "https://evil.example/jwks",
        x5u: "https://evil.example/cert",
      }));
    },
  },
  // Claims.
  { name: "jti missing", code: "ERR_PROOF_JTI", make: claims((c) => withoutKey(c, "jti")) },
  { name: "jti empty", code: "ERR_PROOF_JTI", make: claims((c) => ({ ...c, jti: "" })) },
  { name: "jti a number", code: "ERR_PROOF_JTI", make: claims((c) => ({ ...c, jti: 12345 })) },
  {
    name: "jti too long",
    code: "ERR_PROOF_JTI",
    make: claims((c) => ({ ...c, jti: "j".repeat(300) })),
  },
  { name: "htm missing", code: "ERR_PROOF_HTM", make: claims((c) => withoutKey(c, "htm")) },
  { name: "htm in lower case", code: "ERR_PROOF_HTM", make: claims((c) => ({ ...c, htm: "get" })) },
  {
    name: "htm of another method",
    code: "ERR_PROOF_HTM",
    make: claims((c) => ({ ...c, htm: "POST" })),
  },
  { name: "htu missing", code: "ERR_PROOF_HTU", make: claims((c) => withoutKey(c, "htu")) },
  {
    name: "htu of another path",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: `${ORIGIN}/api/other` })),
  },
  {
    name: "htu with a trailing slash",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: `${API_URL}/` })),
  },
  {
    name: "htu of another host",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: "https://evil.example.com/api/items" })),
  },
  {
    name: "htu over http",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: "http://app.example.com/api/items" })),
  },
  {
    name: "htu with userinfo",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: "https://user:pw@app.example.com/api/items" })),
  },
  {
    name: "htu relative",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: "/api/items" })),
  },
  {
    name: "htu on another port",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: "https://app.example.com:8443/api/items" })),
  },
  {
    name: "htu javascript: URL",
    code: "ERR_PROOF_HTU",
    make: claims((c) => ({ ...c, htu: "javascript:alert(1)" })),
  },
  { name: "htu a number", code: "ERR_PROOF_HTU", make: claims((c) => ({ ...c, htu: 42 })) },
  { name: "iat missing", code: "ERR_PROOF_IAT", make: claims((c) => withoutKey(c, "iat")) },
  {
    name: "iat a string",
    code: "ERR_PROOF_IAT",
    make: claims((c) => ({ ...c, iat: String(c.iat) })),
  },
  { name: "iat null", code: "ERR_PROOF_IAT", make: claims((c) => ({ ...c, iat: null })) },
  {
    name: "iat an hour old",
    code: "ERR_PROOF_IAT",
    make: claims((c) => ({ ...c, iat: (c.iat as number) - HOUR })),
  },
  {
    name: "iat an hour ahead",
    code: "ERR_PROOF_IAT",
    make: claims((c) => ({ ...c, iat: (c.iat as number) + HOUR })),
  },
  {
    name: "ath missing with an access token",
    code: "ERR_PROOF_ATH",
    make: async (f) => ({ proof: await f.proof(), opts: { accessToken: "tok" } }),
  },
  {
    name: "ath of another token",
    code: "ERR_PROOF_ATH",
    make: async (f) => ({
      proof: await f.proof({ accessToken: "other" }),
      opts: { accessToken: "tok" },
    }),
  },
  // Challenges.
  {
    name: "no challenge when one is required",
    code: "ERR_CHALLENGE_MISSING",
    make: claims((c) => withoutKey(c, "nonce")),
  },
  {
    name: "garbage challenge",
    code: "ERR_CHALLENGE_INVALID",
    make: async (f) => f.proof({ nonce: "not-a-challenge" }),
  },
  {
    name: "challenge a number",
    code: "ERR_CHALLENGE_INVALID",
    make: claims((c) => ({ ...c, nonce: 7 })),
  },
  {
    name: "challenge from another server's secret",
    code: "ERR_CHALLENGE_INVALID",
    make: async (f) => {
      const other = await setup({ secret: "another-secret-that-is-long-enough-0000" });
      return f.proof({ nonce: await other.challenge() });
    },
  },
  {
    name: "challenge with a tampered expiry",
    code: "ERR_CHALLENGE_INVALID",
    make: async (f) => {
      const bytes = base64urlDecode(await f.challenge()) as Uint8Array;
      bytes[5] = (bytes[5] as number) ^ 0x7f;
      return f.proof({ nonce: base64urlEncode(bytes) });
    },
  },
  {
    name: "challenge truncated",
    code: "ERR_CHALLENGE_INVALID",
    make: async (f) => f.proof({ nonce: (await f.challenge()).slice(0, 20) }),
  },
  {
    name: "challenge too long",
    code: "ERR_CHALLENGE_INVALID",
    make: async (f) => f.proof({ nonce: "A".repeat(200) }),
  },
  {
    name: "expired challenge",
    code: "ERR_CHALLENGE_EXPIRED",
    make: async (f) => {
      const nonce = await f.challenge();
      f.advance(301_000);
      return f.proof({ nonce });
    },
  },
  {
    name: "challenge bound to another IP",
    code: "ERR_CHALLENGE_BINDING",
    make: async (f) => ({
      proof: await f.proof({ nonce: await f.challenge({ ipAddress: "203.0.113.9" }) }),
      opts: { ipAddress: "198.51.100.1" },
    }),
  },
  {
    name: "challenge bound to another User-Agent",
    code: "ERR_CHALLENGE_BINDING",
    make: async (f) => ({
      proof: await f.proof({ nonce: await f.challenge({ userAgent: "Chrome" }) }),
      opts: { userAgent: "curl/8" },
    }),
  },
  // Signatures.
  {
    name: "signature of another proof",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const [h, p] = segments(await f.proof());
      const [, , s] = segments(await f.proof());
      return `${h}.${p}.${s}`;
    },
  },
  {
    name: "header and claims swapped",
    code: "ERR_PROOF_TYP",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      return `${p}.${h}.${s}`;
    },
  },
  {
    name: "all-zero signature",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const [h, p] = segments(await f.proof());
      return `${h}.${p}.${base64urlEncode(new Uint8Array(64))}`;
    },
  },
  {
    name: "DER-encoded signature",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      const raw = base64urlDecode(s) as Uint8Array;
      const der = p256.Signature.fromBytes(raw, "compact").toBytes("der");
      return `${h}.${p}.${base64urlEncode(der)}`;
    },
  },
  {
    name: "signature with a flipped bit",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      const raw = base64urlDecode(s) as Uint8Array;
      raw[10] = (raw[10] as number) ^ 1;
      return `${h}.${p}.${base64urlEncode(raw)}`;
    },
  },
  {
    name: "header changed after signing",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const d = decode(await f.proof());
      return `${b64json({ ...d.header, kid: "x" })}.${d.p}.${d.s}`;
    },
  },
  {
    name: "claims changed after signing",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const d = decode(await f.proof());
      return `${d.h}.${b64json({ ...d.claims, jti: "changed" })}.${d.s}`;
    },
  },
  {
    name: "signature of 65 bytes",
    code: "ERR_PROOF_SIGNATURE",
    make: async (f) => {
      const [h, p, s] = segments(await f.proof());
      return `${h}.${p}.${base64urlEncode(Uint8Array.from([...(base64urlDecode(s) as Uint8Array), 0]))}`;
    },
  },
];

// Replays need two verifications: the first succeeds, the second is refused.
const replays: Array<{
  name: string;
  code: DeviceBindingErrorCode;
  second(f: Fixture, first: string): Promise<{ proof: string; opts?: Partial<VerifyProofOptions> }>;
  firstOpts?: Partial<VerifyProofOptions>;
}> = [
  {
    name: "the same proof twice",
    code: "ERR_PROOF_REPLAYED",
    second: async (_f, first) => ({ proof: first }),
  },
  {
    name: "a high-S copy of a used proof",
    code: "ERR_PROOF_REPLAYED",
    second: async (_f, first) => {
      const d = decode(first);
      return { proof: `${d.h}.${d.p}.${base64urlEncode(highS(d.signature))}` };
    },
  },
  {
    name: "the same jti in a new proof",
    code: "ERR_PROOF_REPLAYED",
    second: async (f, first) => {
      f.advance(2000);
      return { proof: await f.proof({ jti: decode(first).claims.jti as string }) };
    },
  },
  {
    name: "a single-use challenge used twice",
    code: "ERR_CHALLENGE_USED",
    firstOpts: { singleUseChallenge: true },
    second: async (f, first) => ({
      proof: await f.proof({ nonce: decode(first).claims.nonce as string }),
      opts: { singleUseChallenge: true },
    }),
  },
];

describe("adversarial battery", () => {
  it("has at least 60 distinct hostile proofs", () => {
    expect(cases.length + replays.length).toBeGreaterThanOrEqual(60);
    expect(new Set([...cases, ...replays].map((c) => c.name)).size).toBe(
      cases.length + replays.length,
    );
  });

  it.each(cases.map((c) => [c.name, c] as const))("refuses %s", async (_name, c) => {
    const f = await setup(c.binding);
    const made = await c.make(f);
    const { proof, opts } = typeof made === "string" ? { proof: made, opts: {} } : made;
    const result = await f.binding.verifyProof(proof, { ...GET, ...opts }).then(
      () => "accepted",
      (error: unknown) => error,
    );
    expect(result).toBeInstanceOf(DeviceBindingError);
    expect((result as DeviceBindingError).code).toBe(c.code);
  });

  it.each(replays.map((c) => [c.name, c] as const))("refuses %s", async (_name, c) => {
    const f = await setup();
    const first = await f.proof();
    await f.binding.verifyProof(first, { ...GET, ...c.firstOpts });
    const { proof, opts } = await c.second(f, first);
    await expect(f.binding.verifyProof(proof, { ...GET, ...opts })).rejects.toMatchObject({
      code: c.code,
    });
  });
});
