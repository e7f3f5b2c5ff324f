// Reads the public key a proof carries: public members only, strict encoding, one canonical
// form, so one key never has two thumbprints (RFC 7638).
import { base64urlDecode, base64urlEncode, DeviceBindingError, utf8 } from "@devicebound/wire";
import type { CryptoBackend, SignatureAlgorithm } from "./crypto-backend.js";
import type { PublicJwk } from "./device-store.js";

// Members a browser or JOSE library may add to an exported public key. Anything else, and in
// particular any private member (d, p, q, dp, dq, qi, oth, k), is refused.
const TOLERATED = new Set(["kty", "crv", "x", "y", "ext", "key_ops", "alg", "use", "kid"]);

function bad(reason: string): DeviceBindingError {
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

export interface CanonicalJwk {
  jwk: PublicJwk;
  /** The RFC 7638 thumbprint input: required members, lexicographic order, no whitespace. */
  canonical: string;
}

export function readPublicJwk(value: unknown, alg: SignatureAlgorithm): CanonicalJwk {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("missing or not an object");
  }
  const raw = value as Record<string, unknown>;
  for (const member of Object.keys(raw)) {
    if (!TOLERATED.has(member)) throw bad(`member "${member}" is not allowed`);
  }
  if (raw.ext !== undefined && typeof raw.ext !== "boolean") throw bad("ext must be a boolean");
  if (
    raw.key_ops !== undefined &&
    !(Array.isArray(raw.key_ops) && raw.key_ops.every((op) => typeof op === "string"))
  ) {
    throw bad("key_ops must be an array of strings");
  }
  if (raw.use !== undefined && raw.use !== "sig") throw bad('use must be "sig"');
  if (raw.kid !== undefined && typeof raw.kid !== "string") throw bad("kid must be a string");

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
  return {
    jwk: { kty: "OKP", crv: "Ed25519", x },
    canonical: `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`,
  };
}

/** RFC 7638 SHA-256 thumbprint (base64url) of a canonical JWK. */
export async function thumbprint(crypto: CryptoBackend, canonical: string): Promise<string> {
  return base64urlEncode(await crypto.sha256(utf8(canonical)));
}
