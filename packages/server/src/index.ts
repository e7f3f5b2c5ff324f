// @devicebound/server: challenges, RFC 9449 proof verification and the device registry.
export {
  type ChallengeJSON,
  DeviceBindingError,
  type DeviceBindingErrorCode,
  DPOP_HEADER,
  DPOP_NONCE_HEADER,
  ERROR_CODES,
  isDeviceBindingError,
  type NewDeviceChallengeRequiredJSON,
  type ProofClaims,
} from "@devicebound/wire";
