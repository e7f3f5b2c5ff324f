// The user this browser last signed in as, kept beside the device key (same database), so the
// sign-in page can ask the server "is this a known device of that user?" before any password.
// forgetDevice forgets it too.
import { type DeviceFetch, instance } from "./fetch-with-device.js";
import { STORE, withKeyStore } from "./key-store.js";

const USER = "user";

/** Remembers `userId` for this browser profile (the instance's database). */
export async function rememberUser(
  userId: string,
  device: DeviceFetch = instance(),
): Promise<void> {
  if (typeof userId !== "string" || userId === "")
    throw new TypeError("rememberUser: userId must be a non-empty string");
  await withKeyStore(device.core.database, (db) => db.put(STORE, userId, USER));
}

/** The remembered user id, or `null`. */
export async function rememberedUser(device: DeviceFetch = instance()): Promise<string | null> {
  const value: unknown = await withKeyStore(device.core.database, (db) => db.get(STORE, USER));
  return typeof value === "string" ? value : null;
}
