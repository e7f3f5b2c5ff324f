// RFC 9449 proofs: a compact JWS over the request's method and URL, signed with the device key.
// What depends only on the key (the public JWK, the thumbprint) is computed once.
import { DPOP_JWT_TYP, type ProofClaims } from "@devicebound/wire";
import type { DeviceKeyAlgorithm, StoredDeviceKey } from "./key-store.js";

export interface ProofSigner {
  /** RFC 7638 SHA-256 thumbprint of the public key: the device's `jkt`. */
  jkt: string;
  /** Signs a DPoP proof or, given another `typ` (an action token), a JWT of that type. */
  sign(claims: ProofClaims | Record<string, unknown>, typ?: string): Promise<string>;
}

const utf8 = (text: string) => new TextEncoder().encode(text);
// btoa keeps the bundle small; base64url without padding, so one spelling per byte string.
export const b64 = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/[+/=]/g, (c) =>
    c === "+" ? "-" : c === "/" ? "_" : "",
  );
export const b64json = (value: unknown) => b64(utf8(JSON.stringify(value)));

export async function createSigner(
  key: StoredDeviceKey,
  subtle: SubtleCrypto,
): Promise<ProofSigner> {
  const { kty, crv, x, y } = await subtle.exportKey("jwk", key.keyPair.publicKey);
  // Public members only, in RFC 7638 order: the thumbprint input and the header's `jwk` at once
  // (browsers add `ext` and `key_ops`, which must not travel). Only ever serialised, and
  // JSON.stringify leaves out Ed25519's undefined `y`.
  const jwk = { crv, kty, x, y };
  const jkt = b64(await subtle.digest("SHA-256", utf8(JSON.stringify(jwk))));
  const params = key.alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  // A proof's header depends only on the key: encoded once.
  const proofHeader = b64json({ typ: DPOP_JWT_TYP, alg: key.alg, jwk });
  return {
    jkt,
    async sign(claims, typ) {
      const header = typ ? b64json({ typ, alg: key.alg, jwk }) : proofHeader;
      const input = `${header}.${b64json(claims)}`;
      // Web Crypto's ECDSA signature is already JWS's raw r || s.
      return `${input}.${b64(await subtle.sign(params, key.keyPair.privateKey, utf8(input)))}`;
    },
  };
}

/** A new key pair whose private half can never be exported. */
export const generateKeyPair = (subtle: SubtleCrypto, alg: DeviceKeyAlgorithm) =>
  subtle.generateKey(
    (alg === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : { name: "Ed25519" }) as EcKeyGenParams,
    false,
    ["sign", "verify"],
  ) as Promise<CryptoKeyPair>;

/** base64url SHA-256 of an access token: the proof's `ath`. */
export async function accessTokenHash(subtle: SubtleCrypto, token: string): Promise<string> {
  return b64(await subtle.digest("SHA-256", utf8(token)));
}
