// @devicebound/browser: fetchWithDevice, a drop-in fetch that proves which browser sent a request.
export {
  DeviceBindingError,
  type DeviceBindingErrorCode,
  ERROR_CODES,
  isDeviceBindingError,
} from "@devicebound/wire";
export { browserSupportsDeviceKeys } from "./support.js";
