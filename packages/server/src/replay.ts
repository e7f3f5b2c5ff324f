// Recording proofs, action tokens and single-use challenges in the replay store: once, failing
// closed when the store cannot be reached.
import {
  DeviceBindingError,
  type DeviceBindingErrorCode,
  isDeviceBindingError,
} from "@devicebound/wire";
import type { VerifiedChallenge } from "./challenge.js";
import type { ReplayStore } from "./device-store.js";

/** Records `key` in the replay store, or throws `code` when it is already there. Fails closed. */
export async function consumeOnce(
  replayStore: ReplayStore,
  key: string,
  expiresAtMs: number,
  code: DeviceBindingErrorCode,
  message: string,
): Promise<void> {
  let fresh: boolean;
  try {
    fresh = await replayStore.consume(key, Math.ceil(expiresAtMs));
  } catch (cause) {
    if (isDeviceBindingError(cause, "ERR_STORE_UNAVAILABLE")) throw cause;
    throw new DeviceBindingError("ERR_STORE_UNAVAILABLE", "The replay store could not be reached", {
      cause,
    });
  }
  if (fresh !== true) throw new DeviceBindingError(code, message);
}

/**
 * Spends a challenge: refused (`ERR_CHALLENGE_USED`) if a proof or token already spent it. The
 * record outlives the challenge by one window, as proofs' records do.
 */
export function consumeChallengeOnce(
  replayStore: ReplayStore,
  challenge: VerifiedChallenge,
  windowSeconds: number,
): Promise<void> {
  return consumeOnce(
    replayStore,
    `challenge:${challenge.id}`,
    (challenge.expiresAtSeconds + windowSeconds) * 1000,
    "ERR_CHALLENGE_USED",
    "This challenge was already used",
  );
}
