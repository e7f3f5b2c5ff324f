// Feature detection: can this environment hold a non-extractable device key?

/**
 * Resolves `true` when this browser can create a non-extractable ECDSA P-256 key and keep it in
 * IndexedDB. Never throws; resolves `false` on a server or in a browser without those APIs.
 */
export async function browserSupportsDeviceKeys(): Promise<boolean> {
  const g = globalThis as { crypto?: Crypto; indexedDB?: IDBFactory };
  if (typeof g.indexedDB === "undefined" || typeof g.crypto?.subtle?.generateKey !== "function") {
    return false;
  }
  try {
    const pair = await g.crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ]);
    return pair.privateKey.extractable === false;
  } catch {
    return false;
  }
}
