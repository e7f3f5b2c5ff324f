// @devicebound/browser: fetchWithDevice, a drop-in fetch that proves which browser sent a request.
export {
  DeviceBindingError,
  type DeviceBindingErrorCode,
  ERROR_CODES,
  isDeviceBindingError,
} from "@devicebound/wire";
export {
  type DeviceChallenge,
  type DeviceKeyEvent,
  type DeviceKeyStatus,
  type FetchWithDeviceOptions,
  fetchWithDevice,
  forgetDevice,
  getDeviceThumbprint,
  initFetchWithDevice,
} from "./fetch-with-device.js";
export type { DeviceKeyAlgorithm } from "./key-store.js";
export { browserSupportsDeviceKeys } from "./support.js";
