// The device key pair in IndexedDB: one record per database, shared by every tab of the origin.
// Crypto runs outside every transaction (IndexedDB auto-commits a transaction that waits on it).
import { openDB } from "idb";

export type DeviceKeyAlgorithm = "ES256" | "EdDSA";

export interface StoredDeviceKey {
  keyPair: CryptoKeyPair;
  alg: DeviceKeyAlgorithm;
}

const STORE = "keys";
const RECORD = "device";

const open = (name: string) =>
  openDB(name, 1, { upgrade: (db) => void db.createObjectStore(STORE) });

const usable = (value: unknown): value is StoredDeviceKey => {
  const key = value as StoredDeviceKey | undefined;
  return !!key?.keyPair?.privateKey && !!key.alg;
};

/**
 * Reads the stored key, or stores `generate()`'s. Two tabs starting at once end with one key:
 * Web Locks serialise them where available, and the write is a get-then-put inside one readwrite
 * transaction, which IndexedDB runs alone, so the later tab adopts the earlier tab's key.
 */
export function loadOrCreateKey(
  name: string,
  generate: () => Promise<StoredDeviceKey>,
): Promise<{ key: StoredDeviceKey; created: boolean }> {
  const run = async () => {
    const db = await open(name);
    try {
      const found = await db.get(STORE, RECORD);
      if (usable(found)) return { key: found, created: false };
      const fresh = await generate();
      const tx = db.transaction(STORE, "readwrite");
      const raced = await tx.store.get(RECORD);
      const key = usable(raced) ? raced : fresh;
      if (key === fresh) tx.store.put(fresh, RECORD);
      await tx.done;
      return { key, created: key === fresh };
    } finally {
      db.close();
    }
  };
  return withLock(name, run);
}

export function deleteKey(name: string): Promise<void> {
  return withLock(name, async () => {
    const db = await open(name);
    try {
      await db.delete(STORE, RECORD);
    } finally {
      db.close();
    }
  });
}

// One holder at a time per database, across tabs; without Web Locks the transaction alone decides.
function withLock<T>(name: string, run: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
  return locks ? (locks.request(`devicebound:${name}`, run) as Promise<T>) : run();
}
