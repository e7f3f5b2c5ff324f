// Recording a one-time key (a proof's jti, a single-use challenge) in the replay store, with every
// failure to reach the store reported the same way, so verification fails closed everywhere.
import { DeviceBindingError, isDeviceBindingError } from "@devicebound/wire";
import type { ReplayStore } from "./device-store.js";

/** Resolves true when `key` was recorded now, false when it already was. */
export async function consumeKey(
  replayStore: ReplayStore,
  key: string,
  expiresAtMs: number,
): Promise<boolean> {
  try {
    return (await replayStore.consume(key, Math.ceil(expiresAtMs))) === true;
  } catch (cause) {
    if (isDeviceBindingError(cause, "ERR_STORE_UNAVAILABLE")) throw cause;
    throw new DeviceBindingError("ERR_STORE_UNAVAILABLE", "The replay store could not be reached", {
      cause,
    });
  }
}
