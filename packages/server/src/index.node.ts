// @devicebound/server (Node build): the same API over node:crypto, chosen by the `node`
// export condition.
import { nodeCrypto } from "./crypto-node.js";
import { createDeviceBindingWith } from "./device-binding.js";

export * from "./api.js";

/** Challenges, proof verification, the device registry and the session guard in one object. */
export const createDeviceBinding = createDeviceBindingWith(() => nodeCrypto());
