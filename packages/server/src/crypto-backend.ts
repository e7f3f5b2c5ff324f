// The few primitives the server needs, behind one interface: `node:crypto` under Node (faster,
// cached KeyObjects) and Web Crypto everywhere else, picked by the package's export condition.
import type { DbscPublicJwk, PublicJwk } from "./device-store.js";

/** RS256 (RSASSA-PKCS1-v1_5 with SHA-256) is for DBSC keys only, never for DPoP proofs. */
export type SignatureAlgorithm = "ES256" | "Ed25519" | "RS256";

export interface CryptoBackend {
  sha256(data: Uint8Array): Promise<Uint8Array>;
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  randomBytes(length: number): Uint8Array;
  /**
   * Verifies a JWS signature (ES256 as raw r||s) over `data`. `cacheKey` names the key (its
   * canonical JSON) so imported keys are reused. Resolves `false` for a bad signature and
   * rejects for a key the platform refuses (for example a point off the curve).
   */
  verify(
    alg: SignatureAlgorithm,
    jwk: PublicJwk | DbscPublicJwk,
    cacheKey: string,
    data: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean>;
}

/** Compares two byte strings in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** A Map used as a bounded least-recently-used cache. */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  constructor(readonly maxEntries: number) {}

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.maxEntries) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.#map.delete(key);
  }
}
