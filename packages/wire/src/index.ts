// The wire format both packages speak: header names, JSON shapes, error codes and base64url.
// Bundled into each published package, so neither depends on this private package at runtime.
export { base64urlDecode, base64urlEncode, utf8 } from "./base64url.js";
export {
  DeviceBindingError,
  type DeviceBindingErrorCode,
  type DeviceBindingErrorOptions,
  ERROR_CODES,
  isDeviceBindingError,
} from "./errors.js";
export {
  ACTION_DEFAULT_LIFETIME_SECONDS,
  ACTION_JWT_TYP,
  ACTION_MAX_LIFETIME_SECONDS,
  ACTION_NAME_MAX_LENGTH,
  type ActionClaims,
  type ChallengeJSON,
  DBSC_CHALLENGE_HEADERS,
  DBSC_JWT_TYP,
  DBSC_REGISTRATION_HEADERS,
  DBSC_RESPONSE_HEADERS,
  DBSC_SESSION_ID_HEADERS,
  type DbscAlgorithm,
  DPOP_HEADER,
  DPOP_JWT_TYP,
  DPOP_NONCE_HEADER,
  INVALID_DPOP_PROOF_ERROR,
  NEW_DEVICE_CHALLENGE_REQUIRED,
  NEW_DEVICE_CHALLENGE_STATUS,
  type NewDeviceChallengeRequiredJSON,
  type ProofAlgorithm,
  type ProofClaims,
  USE_DPOP_NONCE_ERROR,
  WWW_AUTHENTICATE_HEADER,
} from "./protocol.js";
