// @devicebound/server (Web Crypto build): for Deno, Bun, workers and edge runtimes.
import { webCrypto } from "./crypto-web.js";
import { createDeviceBindingWith } from "./device-binding.js";

export * from "./api.js";

/** Challenges, proof verification, the device registry and the session guard in one object. */
export const createDeviceBinding = createDeviceBindingWith(() => webCrypto());
