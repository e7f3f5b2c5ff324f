// The storage contract: what the registry needs from a database. Adapters (memory, SQLite,
// PostgreSQL, Redis) implement it and prove it with the shared conformance suite in `./testing`.
import type { ProofAlgorithm } from "@devicebound/wire";

/** A public key as carried in a proof's `jwk` header, canonical members only. */
export type PublicJwk =
  | { kty: "EC"; crv: "P-256"; x: string; y: string }
  | { kty: "OKP"; crv: "Ed25519"; x: string };

export type DeviceStatus = "active" | "blocked";

/** JSON-serialisable application data kept with a device. */
export type DeviceMetadata = Record<string, unknown>;

/** One device (one browser key) of one user. */
export interface Device {
  /** Opaque, URL-safe, unique across all users. Chosen by the registry, kept by the store. */
  id: string;
  userId: string;
  /** RFC 7638 SHA-256 thumbprint of `publicJwk`, base64url. Unique per user. */
  jkt: string;
  publicJwk: PublicJwk;
  alg: ProofAlgorithm;
  status: DeviceStatus;
  displayName: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** The User-Agent seen at registration, when there was one. */
  userAgent: string | null;
  metadata: DeviceMetadata;
}

/** What may change on a stored device. Absent members stay as they are. */
export interface DevicePatch {
  displayName?: string;
  /** Replaces the whole metadata object. */
  metadata?: DeviceMetadata;
  status?: DeviceStatus;
  lastSeenAt?: Date;
}

/**
 * How `insertDevice` enforces a per-user device limit, atomically with the insert. Only `active`
 * devices count toward `maxDevices`, and only they are ever evicted: a blocked device stays
 * stored (and blocked) whatever the limit, so its key can never come back as a new device.
 */
export interface DeviceLimit {
  maxDevices: number;
  /** `reject`: refuse the new device. `evict-least-recently-seen`: delete the oldest-seen ones. */
  onLimit: "reject" | "evict-least-recently-seen";
}

export type InsertDeviceResult =
  /** The device was stored; `evicted` lists devices removed to make room (oldest seen first). */
  | { outcome: "created"; device: Device; evicted: Device[] }
  /** The user already had a device with this `jkt`: nothing changed, here it is. */
  | { outcome: "existing"; device: Device }
  /** The limit was reached and `onLimit` is `reject`: nothing changed. */
  | { outcome: "limit" };

/** A place in the all-devices order: strictly after this (`createdAtMs`, `id`). */
export interface DevicePosition {
  createdAtMs: number;
  id: string;
}

/** What `listAllDevices` returns: filters, all optional, are combined with AND. */
export interface DeviceListQuery {
  /** Most devices to return, at least 1. */
  limit: number;
  /** Only devices after this position in the order (see `listAllDevices`). */
  after?: DevicePosition | undefined;
  status?: DeviceStatus | undefined;
  userId?: string | undefined;
  /** Non-empty text to find in `userId` or `displayName`; see `matchesDeviceQuery`. */
  query?: string | undefined;
}

/**
 * The order of `listDevices`, `listAllDevices` and `findDevicesByJkt`: oldest `createdAt`
 * first, ties by `id` compared as strings (code units; ids are ASCII, so bytewise too).
 */
export function compareDevicesByCreated(a: Device, b: Device): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * The filters of a `DeviceListQuery`, as every store applies them. `query` is a substring of
 * `userId` or `displayName` where ASCII letters match in either case and every other character
 * only itself (no wildcards, no Unicode case folding, so every database agrees).
 */
export function matchesDeviceQuery(
  device: Device,
  filters: Pick<DeviceListQuery, "status" | "userId" | "query">,
): boolean {
  if (filters.status !== undefined && device.status !== filters.status) return false;
  if (filters.userId !== undefined && device.userId !== filters.userId) return false;
  if (filters.query === undefined) return true;
  const needle = asciiLower(filters.query);
  return (
    asciiLower(device.userId).includes(needle) || asciiLower(device.displayName).includes(needle)
  );
}

/** True when `device` comes after `position` in the all-devices order. */
export function isAfterPosition(device: Device, position: DevicePosition | undefined): boolean {
  if (position === undefined) return true;
  const created = device.createdAt.getTime();
  return (
    created > position.createdAtMs || (created === position.createdAtMs && device.id > position.id)
  );
}

/**
 * Devices, per user. Every method that takes a `userId` is scoped to it: a device of another
 * user is invisible (read as `null`, never changed). The three read-only methods at the end
 * answer across users, for `recognize` and administrators. Failures to reach the database
 * reject with a `DeviceBindingError` coded `ERR_STORE_UNAVAILABLE`; the store never
 * half-applies a change.
 */
export interface DeviceStore {
  /**
   * Stores `device` unless the user already has one with the same `jkt`, atomically: of any
   * number of concurrent calls for one (`userId`, `jkt`), exactly one sees `created`.
   * With `limit`, counting and evicting happen in the same atomic step.
   */
  insertDevice(device: Device, limit?: DeviceLimit): Promise<InsertDeviceResult>;
  /** The user's device with this id, or `null`. */
  getDevice(userId: string, deviceId: string): Promise<Device | null>;
  /** The user's device with this thumbprint, or `null`. */
  getDeviceByJkt(userId: string, jkt: string): Promise<Device | null>;
  /** All the user's devices, oldest `createdAt` first (ties by `id`); `[]` for none. */
  listDevices(userId: string): Promise<Device[]>;
  /** Applies `patch` and returns the updated device, or `null` when the user has no such device. */
  updateDevice(userId: string, deviceId: string, patch: DevicePatch): Promise<Device | null>;
  /** Deletes the device; `true` when it existed. */
  deleteDevice(userId: string, deviceId: string): Promise<boolean>;
  /**
   * Every device holding this key, across all users and of either status, in the order of
   * `compareDevicesByCreated`; `[]` for none. The one method not scoped to a user: it serves
   * `recognize`, before anyone signed in. Indexed: it must not scan all devices.
   */
  findDevicesByJkt(jkt: string): Promise<Device[]>;
  /** How many devices the user has, of either status; 0 for none. */
  countDevices(userId: string): Promise<number>;
  /**
   * At most `query.limit` devices of all users, in the order of `compareDevicesByCreated`,
   * starting after `query.after` and kept only when they match the filters
   * (`matchesDeviceQuery`). For administrators. Keyset pagination: a page reads from an index
   * at the position, never skipping rows by count, so a deep page costs what the first does,
   * and devices inserted or deleted elsewhere never shift a later page.
   */
  listAllDevices(query: DeviceListQuery): Promise<Device[]>;
  /**
   * Optional. A number that changes whenever any stored device is inserted, deleted or changed
   * in anything but `lastSeenAt`, by this process or any other writer of the same data, read
   * synchronously and cheaply. A store that has it lets the registry keep the devices it reads
   * and answer `isKnown` without a store read, while the number stays the same: a block made
   * anywhere is seen by the very next request. Leave it out unless a synchronous read can
   * observe every writer (SQLite: a counter kept by triggers); a networked store cannot.
   */
  devicesVersion?(): number;
  /** Releases what the adapter created (connections it opened); never what it was given. */
  close?(): Promise<void>;
}

/**
 * A copy of `device` that shares nothing mutable with it, made by hand: structuredClone costs
 * more than the rest of a device read.
 */
export function copyDevice(device: Device): Device {
  return {
    ...device,
    publicJwk: { ...device.publicJwk },
    createdAt: new Date(device.createdAt.getTime()),
    lastSeenAt: new Date(device.lastSeenAt.getTime()),
    metadata: isEmpty(device.metadata) ? {} : structuredClone(device.metadata),
  };
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/**
 * One-time keys with an expiry: proof `jti`s and single-use challenges. Shared by every server
 * of a fleet. Unreachable stores reject (`ERR_STORE_UNAVAILABLE`), and the verifier then
 * rejects the proof: replay protection fails closed.
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAtMs` (Unix ms) and resolves `true`, or resolves `false` when
   * the key is already recorded and not yet expired (a record expires when `now >= expiresAtMs`).
   * Atomic: of concurrent calls with one key, across processes, exactly one resolves `true`. An
   * expired key may be recorded again. When `expiresAtMs` is not after the store's `now`, the
   * call records nothing and resolves `false`: a record that is born expired cannot promise once.
   */
  consume(key: string, expiresAtMs: number): Promise<boolean>;
  close?(): Promise<void>;
}

// ---- DBSC sessions (W3C Device Bound Session Credentials) -----------------------------------
// Kept in one block: each adapter implements these beside DeviceStore and ReplayStore.

/** The public key of a DBSC session, canonical members only. */
export type DbscPublicJwk =
  | { kty: "EC"; crv: "P-256"; x: string; y: string }
  | { kty: "RSA"; n: string; e: string };

/**
 * `pending`: offered at sign-in, no key registered yet (a browser without DBSC stays here).
 * `active`: the browser registered its key and refreshes the bound cookie with it.
 * `ended`: terminated (sign-out, device blocked or deleted, invalid registration); never revived.
 */
export type DbscSessionStatus = "pending" | "active" | "ended";

/** One DBSC session: belongs to one device record of one user (a device has 0 to N of them). */
export interface DbscSession {
  /** The DBSC session identifier; URL-safe, unique across all users. */
  id: string;
  userId: string;
  /** The device record of the key that signed in. */
  deviceId: string;
  status: DbscSessionStatus;
  /** The session key's algorithm and public key; `null` until registered. */
  alg: "ES256" | "RS256" | null;
  publicJwk: DbscPublicJwk | null;
  createdAt: Date;
  /** The last successful registration or refresh; `null` while pending. */
  refreshedAt: Date | null;
  /** Why the session ended (`signed-out`, `device-blocked`, ...); `null` unless `ended`. */
  endReason: string | null;
  /** The store forgets the session at this moment (reads return `null` from then on). */
  expiresAt: Date;
  /** Starts at 1; every successful update adds 1 (compare-and-set, see `updateDbscSession`). */
  version: number;
}

/** What an update may change. Absent members stay as they are. */
export interface DbscSessionPatch {
  status?: DbscSessionStatus;
  alg?: "ES256" | "RS256";
  publicJwk?: DbscPublicJwk;
  refreshedAt?: Date;
  endReason?: string | null;
  expiresAt?: Date;
}

/**
 * DBSC sessions, keyed by session id. Concurrent refreshes of one session (several tabs, or a
 * fleet of servers) go through `updateDbscSession`, a compare-and-set on `version`, so no update
 * is lost or half-applied. A session whose `expiresAt` has passed (by the store's clock) reads as
 * absent everywhere. Failures to reach the database reject with `ERR_STORE_UNAVAILABLE`.
 */
export interface DbscSessionStore {
  /**
   * Stores a new session (its `version` as given, normally 1). Resolves `false`, changing
   * nothing, when a session with this id already exists.
   */
  insertDbscSession(session: DbscSession): Promise<boolean>;
  /** The session, or `null` (never stored, or expired). */
  getDbscSession(sessionId: string): Promise<DbscSession | null>;
  /**
   * Applies `patch` only if the stored `version` is `expectedVersion`, atomically, and returns
   * the updated session with `version` one higher. Resolves `null`, changing nothing, when the
   * version differs or the session is absent: the caller reads it again and decides.
   */
  updateDbscSession(
    sessionId: string,
    expectedVersion: number,
    patch: DbscSessionPatch,
  ): Promise<DbscSession | null>;
  /** The user's unexpired sessions of one device, oldest `createdAt` first (ties by id). */
  listDbscSessions(userId: string, deviceId: string): Promise<DbscSession[]>;
}
// ---- end DBSC sessions ----------------------------------------------------------------------
