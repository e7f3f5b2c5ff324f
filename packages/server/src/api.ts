// Everything both entry points export, except createDeviceBinding (bound to their crypto).
export {
  ACTION_JWT_TYP,
  ACTION_MAX_LIFETIME_SECONDS,
  type ActionClaims,
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
export {
  compareDevicesByCreated,
  type DbscPublicJwk,
  type DbscSession,
  type DbscSessionPatch,
  type DbscSessionStatus,
  type DbscSessionStore,
  type Device,
  type DeviceLimit,
  type DeviceListQuery,
  type DeviceMetadata,
  type DevicePatch,
  type DevicePosition,
  type DeviceStatus,
  type DeviceStore,
  type InsertDeviceResult,
  isAfterPosition,
  matchesDeviceQuery,
  type PublicJwk,
  type ReplayStore,
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
  DevicePage,
  DeviceRegistry,
  DeviceUpdate,
  KnownStatus,
  ListAllOptions,
  RegisterOptions,
  RegisterResult,
  RegistryOptions,
} from "./registry.js";
export { assertSessionDevice } from "./session.js";
export { deviceNameFromUserAgent } from "./user-agent.js";
export type { VerifiedProof } from "./verified-proof.js";
export type { ActionVerifier, VerifiedAction, VerifyActionOptions } from "./verify-action.js";
export type {
  HeadersLike,
  ProofVerifier,
  RequestLike,
  VerifyProofOptions,
  VerifyRequestOptions,
} from "./verify-proof.js";
export { readProofHeader } from "./verify-proof.js";
