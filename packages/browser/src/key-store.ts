// The device key pair in IndexedDB (through idb): one record per database, shared by every tab of
// the origin, checked on every load so a key planted by page script is noticed, never used.
// Crypto runs outside every transaction (IndexedDB auto-commits a transaction that waits on it).
import { DeviceBindingError } from "@devicebound/wire";
import { openDB } from "idb";
import { createSigner, generateKeyPair, type ProofSigner } from "./proof.js";

export type DeviceKeyAlgorithm = "ES256" | "EdDSA";

export interface StoredDeviceKey {
  keyPair: CryptoKeyPair;
  alg: DeviceKeyAlgorithm;
}

/** How the page's device key was found when it was loaded. */
export type DeviceKeyStatus = "created" | "restored" | "missing" | "replaced";

export interface LoadedDeviceKey {
  signer: ProofSigner;
  status: DeviceKeyStatus;
  /** The thumbprint this profile last used, from the `localStorage` marker. */
  previousJkt: string | null;
}

export const STORE = "keys";
const RECORD = "device";

const storage = <T>(use: (local: Storage) => T): T | undefined => {
  try {
    return use(localStorage);
  } catch {
    // No localStorage (a worker, or blocked): "missing" and "replaced" cannot be detected.
  }
};

/**
 * Runs `use` with the database open, holding the origin-wide Web Lock of this database where
 * Web Locks exist, so loading, replacing and forgetting the key never interleave across tabs.
 */
export function withKeyStore<T>(
  name: string,
  use: (db: Awaited<ReturnType<typeof openDB>>, marker: string) => Promise<T>,
): Promise<T> {
  const run = async (): Promise<T> => {
    const db = await openDB(name, 1, { upgrade: (created) => created.createObjectStore(STORE) });
    try {
      return await use(db, `devicebound:${name}`);
    } finally {
      db.close();
    }
  };
  const locks = globalThis.navigator?.locks;
  return locks ? (locks.request(`devicebound:${name}`, run) as Promise<T>) : run();
}

/**
 * True for what this package itself stores: two `CryptoKey`s of the record's algorithm (P-256 for
 * ES256), a non-extractable private key used only to sign and a public key used only to verify.
 */
export function isDeviceKey(record: unknown): record is StoredDeviceKey {
  const { keyPair, alg } = (record ?? {}) as Partial<StoredDeviceKey>;
  const fits = (key: unknown, type: KeyType, usage: KeyUsage) =>
    key instanceof CryptoKey &&
    key.type === type &&
    key.usages.join() === usage &&
    (alg === "ES256"
      ? key.algorithm.name === "ECDSA" && (key.algorithm as EcKeyAlgorithm).namedCurve === "P-256"
      : alg === "EdDSA" && key.algorithm.name === "Ed25519");
  return (
    fits(keyPair?.privateKey, "private", "sign") &&
    !keyPair?.privateKey.extractable &&
    fits(keyPair?.publicKey, "public", "verify")
  );
}

/**
 * Loads the stored key, or creates one. A stored record that is not a well-formed
 * non-extractable key, or whose thumbprint is not the one this profile last used (page script
 * can write IndexedDB and may hold a copy of what it wrote), is never signed with: a fresh key
 * replaces it and the status says `replaced`.
 */
export function loadDeviceKey(
  name: string,
  subtle: SubtleCrypto,
  algorithms: readonly DeviceKeyAlgorithm[],
): Promise<LoadedDeviceKey> {
  return withKeyStore(name, async (db, marker) => {
    const previousJkt = storage((local) => local.getItem(marker)) ?? null;
    const found: unknown = await db.get(STORE, RECORD);
    let status: DeviceKeyStatus = found ? "replaced" : previousJkt ? "missing" : "created";
    let signer = isDeviceKey(found) ? await createSigner(found, subtle) : undefined;
    if (signer && (!previousJkt || previousJkt === signer.jkt)) {
      status = "restored";
    } else {
      let fresh: StoredDeviceKey | undefined;
      // Ed25519 is opt-in and not everywhere yet: fall back to P-256 where it is missing.
      for (const alg of algorithms) {
        fresh ??= await generateKeyPair(subtle, alg).then(
          (keyPair) => ({ keyPair, alg }),
          () => undefined,
        );
      }
      if (!fresh) throw new DeviceBindingError("ERR_UNSUPPORTED", "No non-extractable keys");
      const writer = db.transaction(STORE, "readwrite").store;
      // Awaiting a request of the same transaction keeps it active; nothing else is awaited.
      // Without Web Locks a tab that started at the same time may have stored its key: adopt it.
      const raced: unknown = !found && (await writer.get(RECORD));
      if (isDeviceKey(raced)) {
        fresh = raced;
        status = "restored";
      } else {
        writer.put(fresh, RECORD);
      }
      await writer.transaction.done;
      signer = await createSigner(fresh, subtle);
    }
    storage((local) => local.setItem(marker, (signer as ProofSigner).jkt));
    return { signer, status, previousJkt };
  });
}

/** Deletes the stored key, the remembered user and this profile's marker. */
export function deleteDeviceKey(name: string): Promise<void> {
  return withKeyStore(name, async (db, marker) => {
    await db.clear(STORE);
    storage((local) => local.removeItem(marker));
  });
}
