// The device key pair in IndexedDB: one record per database, shared by every tab of the origin.
// Crypto runs outside every transaction (IndexedDB auto-commits a transaction that waits on it).
import { openDB } from "idb";

export type DeviceKeyAlgorithm = "ES256" | "EdDSA";

export interface StoredDeviceKey {
  keyPair: CryptoKeyPair;
  alg: DeviceKeyAlgorithm;
}

type KeyLoad = { key: StoredDeviceKey; created: boolean } | undefined;

const STORE = "keys";
const RECORD = "device";

/**
 * Reads the stored key, or stores `generate()`'s; without `generate`, deletes it. Two tabs
 * starting at once end with one key: Web Locks serialise them where available, and the write is
 * a get-then-put inside one readwrite transaction, which IndexedDB runs alone, so the later tab
 * adopts the earlier tab's key.
 */
export async function keyStore(
  name: string,
  generate?: () => Promise<StoredDeviceKey>,
): Promise<KeyLoad> {
  const run = async (): Promise<KeyLoad> => {
    const db = await openDB(name, 1, { upgrade: (db) => void db.createObjectStore(STORE) });
    try {
      if (!generate) return void (await db.delete(STORE, RECORD));
      // Anything without an algorithm (a foreign or half-written record) is replaced.
      const found = await db.get(STORE, RECORD);
      if (found?.alg) return { key: found, created: false };
      const fresh = await generate();
      const tx = db.transaction(STORE, "readwrite");
      const raced = await tx.store.get(RECORD);
      if (!raced?.alg) tx.store.put(fresh, RECORD);
      await tx.done;
      return raced?.alg ? { key: raced, created: false } : { key: fresh, created: true };
    } finally {
      db.close();
    }
  };
  const locks = globalThis.navigator?.locks;
  return locks ? locks.request(`devicebound:${name}`, run) : run();
}
