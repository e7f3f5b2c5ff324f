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
   * Verifies a JWS signature (ES256 as raw r||s) over `data` (a string is a JWS signing input,
   * so ASCII). `cacheKey` names the key (its canonical JSON) so imported keys are reused.
   * Resolves `false` for a bad signature and rejects for a key the platform refuses (for
   * example a point off the curve).
   */
  verify(
    alg: SignatureAlgorithm,
    jwk: PublicJwk | DbscPublicJwk,
    cacheKey: string,
    data: Uint8Array | string,
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

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqualText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * A bounded cache that keeps what was used recently: two generations of at most half the
 * capacity each. Reads hit the newer one with a single Map lookup; an entry found in the older
 * one moves up; when the newer one is full it becomes the older one and the rest is dropped.
 * Cheaper on the hot path than a strict LRU (which moves an entry on every read), and never
 * holds more than `maxEntries`.
 */
export class RecentCache<K, V> {
  #hot = new Map<K, V>();
  #cold = new Map<K, V>();
  readonly #half: number;
  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 2)
      throw new TypeError("maxEntries must be an integer of at least 2");
    this.#half = Math.floor(maxEntries / 2);
  }

  get(key: K): V | undefined {
    const value = this.#hot.get(key);
    if (value !== undefined) return value;
    const old = this.#cold.get(key);
    if (old !== undefined) {
      this.#cold.delete(key);
      this.#put(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    this.#cold.delete(key);
    this.#put(key, value);
  }

  delete(key: K): void {
    this.#hot.delete(key);
    this.#cold.delete(key);
  }

  clear(): void {
    this.#hot = new Map();
    this.#cold = new Map();
  }

  #put(key: K, value: V): void {
    if (this.#hot.size >= this.#half && !this.#hot.has(key)) {
      this.#cold = this.#hot;
      this.#hot = new Map();
    }
    this.#hot.set(key, value);
  }
}
