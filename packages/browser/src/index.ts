// @devicebound/browser: fetchWithDevice, a drop-in fetch that proves which browser sent a request.
export {
  DeviceBindingError,
  type DeviceBindingErrorCode,
  ERROR_CODES,
  isDeviceBindingError,
} from "@devicebound/wire";
export {
  createDeviceFetch,
  type DeviceChallenge,
  type DeviceFetch,
  type DeviceKeyEvent,
  type FallbackEvent,
  type FetchWithDeviceOptions,
  fetchWithDevice,
  forgetDevice,
  getDeviceThumbprint,
  initFetchWithDevice,
} from "./fetch-with-device.js";
export type { DeviceKeyAlgorithm, DeviceKeyStatus } from "./key-store.js";
export { rememberedUser, rememberUser } from "./remembered-user.js";
export { type SignActionOptions, signAction } from "./sign-action.js";
export { browserSupportsDeviceKeys } from "./support.js";
