// Everything both entry points export, except createDeviceBinding (bound to their crypto).
export {
  type ChallengeJSON,
  DeviceBindingError,
  type DeviceBindingErrorCode,
  DPOP_HEADER,
  DPOP_NONCE_HEADER,
  ERROR_CODES,
  isDeviceBindingError,
  type NewDeviceChallengeRequiredJSON,
  type ProofAlgorithm,
  type ProofClaims,
} from "@devicebound/wire";
export type { ChallengeContext, ChallengeSecret } from "./challenge.js";
export type { CryptoBackend, SignatureAlgorithm } from "./crypto-backend.js";
export type {
  Dbsc,
  DbscEndReason,
  DbscOptions,
  DbscScopeRule,
  StartedDbscSession,
  Tier,
} from "./dbsc.js";
export type { DeviceBinding, DeviceBindingOptions } from "./device-binding.js";
export type {
  DbscPublicJwk,
  DbscSession,
  DbscSessionPatch,
  DbscSessionStatus,
  DbscSessionStore,
  Device,
  DeviceLimit,
  DeviceMetadata,
  DevicePatch,
  DeviceStatus,
  DeviceStore,
  InsertDeviceResult,
  PublicJwk,
  ReplayStore,
} from "./device-store.js";
export type { DeviceEvent, DeviceEventHandler } from "./events.js";
export {
  challengeHeaders,
  type ErrorAnswer,
  errorAnswer,
  errorHeaders,
  errorResponse,
  newDeviceChallengeBody,
  newDeviceChallengeResponse,
  withChallenge,
  wwwAuthenticate,
} from "./http.js";
export { type MemoryStore, type MemoryStoreOptions, memoryStore } from "./memory-store.js";
export type {
  DeviceRegistry,
  DeviceUpdate,
  KnownStatus,
  RegisterOptions,
  RegisterResult,
  RegistryOptions,
} from "./registry.js";
export { assertSessionDevice } from "./session.js";
export { deviceNameFromUserAgent } from "./user-agent.js";
export type { VerifiedProof } from "./verified-proof.js";
export type {
  HeadersLike,
  ProofVerifier,
  RequestLike,
  VerifyProofOptions,
  VerifyRequestOptions,
} from "./verify-proof.js";
export { readProofHeader } from "./verify-proof.js";
