// Session binding: a session cookie is only good together with a proof from the key it was
// bound to at sign-in, so a stolen cookie alone gets nowhere.
import { DeviceBindingError } from "@devicebound/wire";
import { timingSafeEqualText } from "./crypto-backend.js";
import type { VerifiedProof } from "./verified-proof.js";

/**
 * Throws `ERR_DEVICE_MISMATCH` unless the verified proof was made with the key whose thumbprint
 * the app stored in its session at sign-in.
 */
export function assertSessionDevice(
  proof: Pick<VerifiedProof, "jkt">,
  sessionJkt: string | null | undefined,
): void {
  if (
    typeof sessionJkt !== "string" ||
    sessionJkt === "" ||
    !timingSafeEqualText(proof.jkt, sessionJkt)
  ) {
    throw new DeviceBindingError("ERR_DEVICE_MISMATCH", "This session belongs to another device");
  }
}
