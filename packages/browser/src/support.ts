// Feature detection: can this environment hold a non-extractable device key?
import { generateKeyPair } from "./proof.js";

/**
 * Resolves `true` when this browser can create a non-extractable ECDSA P-256 key and keep it in
 * IndexedDB. Never throws; resolves `false` on a server or in a browser without those APIs.
 */
export async function browserSupportsDeviceKeys(): Promise<boolean> {
  try {
    return (
      !!globalThis.indexedDB &&
      !(await generateKeyPair(crypto.subtle, "ES256")).privateKey.extractable
    );
  } catch {
    return false;
  }
}
