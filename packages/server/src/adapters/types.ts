// The guard's types, re-exported by every adapter entry so an app imports them from the adapter
// it uses.
export type {
  AdapterOptions,
  BoundGuardResult,
  DeviceSession,
  GuardOptions,
  GuardResult,
  SessionLookup,
  SessionStatus,
  UnboundGuardResult,
} from "./guard.js";
