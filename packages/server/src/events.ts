// Lifecycle events, delivered through the one `onEvent` option of createDeviceBinding, so an
// app can send its "new sign-in" email, audit log or metrics from a single place.
import type { DeviceBindingErrorCode } from "@devicebound/wire";
import type { DbscSession, Device } from "./device-store.js";

export type DeviceEvent =
  /** A register call stored a device (first time this key is seen for this user). */
  | { type: "registered"; device: Device }
  /** Same moment as `registered`: the signal to send a "new sign-in" message. */
  | { type: "newDevice"; device: Device }
  /** A known device was seen again (isKnown or a repeated register). */
  | { type: "seen"; device: Device }
  | { type: "blocked"; device: Device }
  | { type: "unblocked"; device: Device }
  | { type: "updated"; device: Device }
  /** `reason` is `user` for an explicit delete, `evicted` for the device-limit policy. */
  | { type: "deleted"; device: Device; reason: "user" | "evicted" }
  /** A proof or challenge was refused. Never carries the proof itself. */
  | { type: "verificationFailed"; code: DeviceBindingErrorCode; message: string }
  /**
   * A session that had no device (after an SSO redirect, or from before devicebound) was bound to
   * the key of its first request with a valid proof. `newDeviceDetected` as from `register`.
   */
  | { type: "sessionBound"; userId: string; device: Device; newDeviceDetected: boolean }
  /** A session with no device was served without a proof, as the rollout allows. */
  | { type: "unboundSessionServed"; userId: string }
  /** A browser registered a DBSC key for a session (its bound cookie is now set). */
  | { type: "dbscSessionStarted"; session: DbscSession }
  /** A DBSC refresh succeeded: a fresh bound cookie was set. */
  | { type: "dbscSessionRefreshed"; session: DbscSession }
  /**
   * A DBSC session ended: `signed-out` (endSession), `device-blocked` / `device-deleted` (seen at
   * its next refresh or registration, or endDeviceSessions), `invalid-registration`.
   */
  | { type: "dbscSessionEnded"; session: DbscSession; reason: string }
  /**
   * Theft signal: a request for a session that registered a DBSC key arrived without its bound
   * cookie, as a session copied out of the browser that holds the key would.
   */
  | { type: "dbscCookieMissing"; session: DbscSession };

/** Receives every event. Errors it throws (or rejects with) are caught and never fail a request. */
export type DeviceEventHandler = (event: DeviceEvent) => void | Promise<void>;

/** Delivers events to `handler`, never letting it fail (or delay) the call that raised them. */
export function eventEmitter(
  handler: DeviceEventHandler | undefined,
): (event: DeviceEvent) => void {
  return (event) => {
    if (!handler) return;
    try {
      const result = handler(event);
      if (result && typeof result.then === "function") result.then(undefined, () => {});
    } catch {
      // An event handler never fails the call that raised the event.
    }
  };
}
