// Lifecycle events, delivered through the one `onEvent` option of createDeviceBinding, so an
// app can send its "new sign-in" email, audit log or metrics from a single place.
import type { DeviceBindingErrorCode } from "@devicebound/wire";
import type { Device } from "./device-store.js";

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
  | { type: "verificationFailed"; code: DeviceBindingErrorCode; message: string };

/** Receives every event. Errors it throws (or rejects with) are caught and never fail a request. */
export type DeviceEventHandler = (event: DeviceEvent) => void | Promise<void>;
