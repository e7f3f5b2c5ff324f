// Reads the public key a proof carries: public members only, strict encoding, one canonical
// form, so one key never has two thumbprints (RFC 7638).
import { base64urlDecode, base64urlEncode, DeviceBindingError, utf8 } from "@devicebound/wire";
import type { CryptoBackend, SignatureAlgorithm } from "./crypto-backend.js";
import type { DbscPublicJwk, PublicJwk } from "./device-store.js";

// Members a browser or JOSE library may add to an exported public key. Anything else, and in
// particular any private member (d, p, q, dp, dq, qi, oth, k), is refused.
const TOLERATED = new Set(["kty", "crv", "x", "y", "ext", "key_ops", "alg", "use", "kid"]);
const TOLERATED_RSA = new Set(["kty", "n", "e", "ext", "key_ops", "alg", "use", "kid"]);

function bad(reason: string): DeviceBindingError {
  // The proof's jwk, a DBSC key: one code, so callers map it as they map a bad proof key.
  return new DeviceBindingError("ERR_PROOF_JWK", `The proof's jwk is not acceptable: ${reason}`, {
    details: { reason },
  });
}

function coordinate(value: unknown, name: string): string {
  // Exactly 32 bytes in canonical base64url: a leading zero byte, padding or non-zero pad bits
  // would give the same point a second spelling, and so a second thumbprint.
  if (typeof value !== "string" || value.length !== 43) throw bad(`${name} must be 32 bytes`);
  if (base64urlDecode(value) === null) throw bad(`${name} is not canonical base64url`);
  return value;
}

// The canonical encodings of the eight points of small order (the torsion subgroup). With such a
// key, the signature R = identity, S = 0 verifies every message on OpenSSL and Web Crypto alike.
const ED25519_SMALL_ORDER = new Set([
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]);
const ED25519_P = 2n ** 255n - 19n;

/**
 * Refuses Ed25519 public keys that are not one canonical encoding of a point of large order:
 * a y coordinate at or above p (the same point as y - p, so a second thumbprint), x = 0 with the
 * sign bit set (RFC 8032 section 5.1.3 rejects it), and the small-order points above.
 */
function checkEd25519(x: string): void {
  const bytes = base64urlDecode(x) as Uint8Array;
  let hex = "";
  let y = 0n;
  for (let i = 31; i >= 0; i--) {
    const byte = bytes[i] as number;
    y = (y << 8n) | BigInt(i === 31 ? byte & 0x7f : byte);
  }
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  if (y >= ED25519_P) throw bad("x is not a canonical Ed25519 encoding");
  const signBit = ((bytes[31] as number) & 0x80) !== 0;
  if (signBit && (y === 1n || y === ED25519_P - 1n)) {
    throw bad("x is not a canonical Ed25519 encoding");
  }
  if (ED25519_SMALL_ORDER.has(hex)) throw bad("x is a point of small order");
}

export interface CanonicalJwk {
  jwk: PublicJwk;
  /** The RFC 7638 thumbprint input: required members, lexicographic order, no whitespace. */
  canonical: string;
}

/** The optional members every key may carry, checked the same way for EC, OKP and RSA keys. */
function readCommonMembers(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("missing or not an object");
  }
  const raw = value as Record<string, unknown>;
  if (raw.ext !== undefined && typeof raw.ext !== "boolean") throw bad("ext must be a boolean");
  if (
    raw.key_ops !== undefined &&
    !(Array.isArray(raw.key_ops) && raw.key_ops.every((op) => typeof op === "string"))
  ) {
    throw bad("key_ops must be an array of strings");
  }
  if (raw.use !== undefined && raw.use !== "sig") throw bad('use must be "sig"');
  if (raw.kid !== undefined && typeof raw.kid !== "string") throw bad("kid must be a string");
  return raw;
}

export function readPublicJwk(value: unknown, alg: SignatureAlgorithm): CanonicalJwk {
  if (alg === "RS256") throw new TypeError("RSA keys are read with readRsaPublicJwk");
  const raw = readCommonMembers(value);
  for (const member of Object.keys(raw)) {
    if (!TOLERATED.has(member)) throw bad(`member "${member}" is not allowed`);
  }
  if (alg === "ES256") {
    if (raw.kty !== "EC" || raw.crv !== "P-256") throw bad("ES256 needs an EC P-256 key");
    if (raw.alg !== undefined && raw.alg !== "ES256") throw bad("jwk alg differs from the header");
    const x = coordinate(raw.x, "x");
    const y = coordinate(raw.y, "y");
    return {
      jwk: { kty: "EC", crv: "P-256", x, y },
      canonical: `{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`,
    };
  }
  if (raw.kty !== "OKP" || raw.crv !== "Ed25519") throw bad("EdDSA needs an OKP Ed25519 key");
  if (raw.alg !== undefined && raw.alg !== "EdDSA" && raw.alg !== "Ed25519") {
    throw bad("jwk alg differs from the header");
  }
  if (raw.y !== undefined) throw bad("an OKP key has no y");
  const x = coordinate(raw.x, "x");
  checkEd25519(x);
  return {
    jwk: { kty: "OKP", crv: "Ed25519", x },
    canonical: `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`,
  };
}

/**
 * Reads an RSA public key (DBSC's RS256): 2048 to 4096 bits, the modulus and exponent in their one
 * canonical spelling (no leading zero byte), an odd exponent of at least 3.
 */
export function readRsaPublicJwk(value: unknown): {
  jwk: Extract<DbscPublicJwk, { kty: "RSA" }>;
  canonical: string;
} {
  const raw = readCommonMembers(value);
  for (const member of Object.keys(raw)) {
    if (!TOLERATED_RSA.has(member)) throw bad(`member "${member}" is not allowed`);
  }
  if (raw.kty !== "RSA") throw bad("RS256 needs an RSA key");
  if (raw.alg !== undefined && raw.alg !== "RS256") throw bad("jwk alg differs from the header");
  const n = typeof raw.n === "string" && raw.n.length <= 700 ? base64urlDecode(raw.n) : null;
  const e = typeof raw.e === "string" && raw.e.length <= 8 ? base64urlDecode(raw.e) : null;
  if (n === null || n.length < 256 || n.length > 512 || n[0] === 0)
    throw bad("n must be a 2048 to 4096 bit modulus in canonical base64url");
  if (
    e === null ||
    e.length === 0 ||
    e.length > 4 ||
    e[0] === 0 ||
    ((e[e.length - 1] as number) & 1) === 0
  )
    throw bad("e must be an odd exponent in canonical base64url");
  if (e.length === 1 && (e[0] as number) < 3) throw bad("e must be at least 3");
  const jwk = { kty: "RSA", n: raw.n as string, e: raw.e as string } as const;
  return { jwk, canonical: `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}` };
}

/** RFC 7638 SHA-256 thumbprint (base64url) of a canonical JWK. */
export async function thumbprint(crypto: CryptoBackend, canonical: string): Promise<string> {
  return base64urlEncode(await crypto.sha256(utf8(canonical)));
}
