// The device key pair in IndexedDB: one record per database, shared by every tab of the origin.
// Plain IndexedDB rather than idb: idb alone is ~1.15 KB of a 3.5 KB budget for three requests.
// Crypto runs outside every transaction (IndexedDB auto-commits a transaction that waits on it).

export type DeviceKeyAlgorithm = "ES256" | "EdDSA";

export interface StoredDeviceKey {
  keyPair: CryptoKeyPair;
  alg: DeviceKeyAlgorithm;
}

type KeyLoad = { key: StoredDeviceKey; created: boolean } | undefined;

const STORE = "keys";
const RECORD = "device";

// Settles with a request's result, or when a transaction commits.
const done = <T>(target: IDBRequest<T> | IDBTransaction) =>
  new Promise<T>((resolve, reject) => {
    const request = target as IDBRequest<T>;
    target.onerror = (target as IDBTransaction).onabort = () => reject(target.error);
    request.onsuccess = (target as IDBTransaction).oncomplete = () => resolve(request.result);
  });

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
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    const db = await done(open);
    const store = (mode: IDBTransactionMode) => db.transaction(STORE, mode).objectStore(STORE);
    try {
      if (!generate)
        return void (await done(store("readwrite").delete(RECORD).transaction as IDBTransaction));
      // Anything without an algorithm (a foreign or half-written record) is replaced.
      const found = await done(store("readonly").get(RECORD));
      if (found?.alg) return { key: found, created: false };
      const fresh = await generate();
      const writer = store("readwrite");
      // Awaiting a request of the same transaction keeps it active; nothing else is awaited.
      const raced = await done(writer.get(RECORD));
      if (!raced?.alg) writer.put(fresh, RECORD);
      await done(writer.transaction);
      return raced?.alg ? { key: raced, created: false } : { key: fresh, created: true };
    } finally {
      db.close();
    }
  };
  const locks = globalThis.navigator?.locks;
  return locks ? locks.request(`devicebound:${name}`, run) : run();
}
