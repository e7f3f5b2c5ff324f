// The device registry: a user's devices, keyed by key thumbprint, over any DeviceStore.
import {
  base64urlDecode,
  base64urlEncode,
  DeviceBindingError,
  type ProofAlgorithm,
  utf8,
} from "@devicebound/wire";
import { RecentCache } from "./crypto-backend.js";
import {
  copyDevice,
  type Device,
  type DeviceLimit,
  type DeviceMetadata,
  type DevicePosition,
  type DeviceStatus,
  type DeviceStore,
} from "./device-store.js";
import { type DeviceEventHandler, eventEmitter } from "./events.js";
import { deviceNameFromUserAgent } from "./user-agent.js";
import type { VerifiedProof } from "./verified-proof.js";

export interface RegistryOptions {
  store: DeviceStore;
  /** Current time in ms (a seam for tests). Default `Date.now`. */
  now?: () => number;
  onEvent?: DeviceEventHandler;
  /** Most devices one user may have. Default: no limit. */
  maxDevicesPerUser?: number;
  /**
   * At the limit, `reject` refuses the new device (`ERR_DEVICE_LIMIT`);
   * `remove-least-recently-seen` deletes the oldest-seen ones (with 1, the single-device policy).
   */
  onDeviceLimit?: "reject" | "remove-least-recently-seen";
  /** `lastSeenAt` is written at most this often per device, so hot paths rarely write. Default 60 000 ms. */
  lastSeenResolutionMs?: number;
}

export interface RegisterOptions {
  /** Default: derived from the User-Agent, e.g. "Chrome on macOS". */
  displayName?: string;
  metadata?: DeviceMetadata;
}

export interface RegisterResult {
  device: Device;
  /** True exactly once per (user, key): the moment to send a "new sign-in" message. */
  newDeviceDetected: boolean;
}

export type KnownStatus =
  | { status: "active"; device: Device }
  | { status: "blocked"; device: Device }
  | { status: "unknown"; device?: undefined };

export interface DeviceUpdate {
  displayName?: string;
  /** Replaces the device's metadata. */
  metadata?: DeviceMetadata;
}

export interface ListAllOptions {
  /** Devices per page, 1 to 500. Default 50. */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page; absent for the first page. */
  cursor?: string | undefined;
  status?: DeviceStatus | undefined;
  userId?: string | undefined;
  /**
   * Text to find in the user id or the display name: a substring, ASCII letters in either case,
   * every other character (`%` and `_` included) only itself. Empty means no filter.
   */
  query?: string | undefined;
}

export interface DevicePage {
  devices: Device[];
  /** Present when more devices may follow: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

export interface DeviceRegistry {
  register(
    userId: string,
    proof: VerifiedProof,
    options?: RegisterOptions,
  ): Promise<RegisterResult>;
  isKnown(userId: string, proof: Pick<VerifiedProof, "jkt">): Promise<KnownStatus>;
  list(userId: string): Promise<Device[]>;
  /** The device, or `null` when this user has none with that id. */
  get(userId: string, deviceId: string): Promise<Device | null>;
  update(userId: string, deviceId: string, update: DeviceUpdate): Promise<Device>;
  block(userId: string, deviceId: string): Promise<Device>;
  unblock(userId: string, deviceId: string): Promise<Device>;
  delete(userId: string, deviceId: string): Promise<void>;
  /**
   * The active devices holding this key across all users, oldest first: who used this browser,
   * for "welcome back" and account pickers before sign-in. See the README's privacy note.
   */
  recognize(proof: Pick<VerifiedProof, "jkt">): Promise<Device[]>;
  /** How many devices the user has, active and blocked. */
  count(userId: string): Promise<number>;
  /**
   * All users' devices for administrators, a page at a time: oldest `createdAt` first, ties by
   * id, with a cursor that stays valid while devices are added and deleted.
   */
  listAll(options?: ListAllOptions): Promise<DevicePage>;
}

const MAX_USER_ID = 256;
// Devices the registry keeps between requests (for stores with devicesVersion).
const MAX_CACHED_DEVICES = 10_000;
const MAX_NAME = 100;
const MAX_METADATA_BYTES = 8192;
const MAX_METADATA_DEPTH = 32;
// Control characters, line separators and bidi controls, and lone surrogates: every store must
// hold an id as the same byte string (PostgreSQL and Redis turn a lone surrogate into U+FFFD, so
// "u\ud800" and "u\udc00" would be one user there).
const NOT_PRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Characters that show as nothing, so two names that look the same differ: soft hyphen,
// combining grapheme joiner, fillers, zero-width spaces and joiners, LRM/RLM/ALM, invisible
// operators, BOM, interlinear annotations and tag characters.
const INVISIBLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: lone combining and invisible characters are what it finds.
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064\u3164\ufeff\uffa0\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/;
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const MAX_QUERY = 256;
// A cursor is base64url("1.<createdAtMs>.<deviceId>"): opaque to callers, versioned for us.
const CURSOR = /^1\.(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{1,64})$/;
const cursorDecoder = new TextDecoder("utf-8", { fatal: true });

function encodeCursor(device: Device): string {
  return base64urlEncode(utf8(`1.${device.createdAt.getTime()}.${device.id}`));
}

function decodeCursor(cursor: unknown): DevicePosition {
  const bytes = typeof cursor === "string" && cursor.length <= 128 ? base64urlDecode(cursor) : null;
  let match: RegExpExecArray | null = null;
  try {
    match = bytes && CURSOR.exec(cursorDecoder.decode(bytes));
  } catch {
    // Not UTF-8: refused below like any other foreign cursor.
  }
  const createdAtMs = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(createdAtMs)) invalid("cursor is malformed", "cursor");
  return { createdAtMs, id: match[2] as string };
}

function invalid(message: string, field: string): never {
  throw new DeviceBindingError("ERR_INVALID_INPUT", message, { details: { field } });
}

function checkUserId(userId: unknown): string {
  if (
    typeof userId !== "string" ||
    userId.length === 0 ||
    userId.length > MAX_USER_ID ||
    NOT_PRINTABLE.test(userId)
  ) {
    invalid(
      `userId must be 1 to ${MAX_USER_ID} printable characters of well-formed Unicode`,
      "userId",
    );
  }
  return userId;
}

function checkDeviceId(deviceId: unknown): string {
  if (typeof deviceId !== "string" || !DEVICE_ID.test(deviceId))
    invalid("deviceId is malformed", "deviceId");
  return deviceId;
}

function checkName(name: unknown): string {
  if (typeof name !== "string") invalid("displayName must be a string", "displayName");
  const trimmed = name.trim();
  if (
    trimmed.length === 0 ||
    trimmed.length > MAX_NAME ||
    NOT_PRINTABLE.test(trimmed) ||
    INVISIBLE.test(trimmed)
  ) {
    invalid(`displayName must be 1 to ${MAX_NAME} visible characters`, "displayName");
  }
  return trimmed;
}

/**
 * Walks `value` without recursion (no stack to overflow) and says what is wrong with its shape:
 * nesting deeper than MAX_METADATA_DEPTH, or more values than MAX_METADATA_BYTES of JSON could
 * hold (which also ends the walk of a cycle or of a widely shared object quickly).
 */
function metadataShapeProblem(value: unknown): string | null {
  const stack: [unknown, number][] = [[value, 1]];
  let values = 0;
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (++values > MAX_METADATA_BYTES) return `must be at most ${MAX_METADATA_BYTES} bytes of JSON`;
    const [node, depth] = item;
    if (typeof node !== "object" || node === null) continue;
    if (depth > MAX_METADATA_DEPTH) return `must nest at most ${MAX_METADATA_DEPTH} levels deep`;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return null;
}

function checkMetadata(metadata: unknown): DeviceMetadata {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    invalid("metadata must be a JSON object", "metadata");
  }
  // Checked before serialising: deep nesting overflows stacks (structuredClone, Lua's cjson).
  const problem = metadataShapeProblem(metadata);
  if (problem !== null) invalid(`metadata ${problem}`, "metadata");
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch {
    invalid("metadata must be JSON-serialisable", "metadata");
  }
  if (new TextEncoder().encode(json).length > MAX_METADATA_BYTES) {
    invalid(`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`, "metadata");
  }
  // Stored as what JSON keeps, so every adapter returns the same thing.
  return JSON.parse(json) as DeviceMetadata;
}

function checkProof(proof: unknown): VerifiedProof {
  const p = proof as VerifiedProof | null;
  if (
    typeof p !== "object" ||
    p === null ||
    typeof p.jkt !== "string" ||
    typeof p.jwk !== "object" ||
    p.jwk === null
  ) {
    throw new TypeError("pass the VerifiedProof that verifyProof returned");
  }
  return p;
}

function newDeviceId(): string {
  return base64urlEncode(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

export function createRegistry(options: RegistryOptions): DeviceRegistry {
  const { store } = options;
  for (const method of [
    "insertDevice",
    "getDevice",
    "getDeviceByJkt",
    "listDevices",
    "updateDevice",
    "deleteDevice",
  ] as const) {
    if (typeof store?.[method] !== "function")
      throw new TypeError(`store must implement ${method}()`);
  }
  const now = options.now ?? Date.now;
  const resolution = options.lastSeenResolutionMs ?? 60_000;
  if (!(resolution >= 0)) throw new TypeError("lastSeenResolutionMs must be a number >= 0");
  let limit: DeviceLimit | undefined;
  if (options.maxDevicesPerUser !== undefined) {
    if (!Number.isInteger(options.maxDevicesPerUser) || options.maxDevicesPerUser < 1) {
      throw new TypeError("maxDevicesPerUser must be a positive integer");
    }
    const policy = options.onDeviceLimit ?? "reject";
    if (policy !== "reject" && policy !== "remove-least-recently-seen") {
      throw new TypeError('onDeviceLimit must be "reject" or "remove-least-recently-seen"');
    }
    limit = {
      maxDevices: options.maxDevicesPerUser,
      onLimit: policy === "reject" ? "reject" : "evict-least-recently-seen",
    };
  }

  const emit = eventEmitter(options.onEvent);

  // Devices read by isKnown, kept while the store's devicesVersion() stays the same (only for
  // stores that have it). Any change anywhere moves the version, and the next lookup then
  // empties the cache before it reads: a block is never served from here.
  const version = store.devicesVersion?.bind(store);
  const cache = new RecentCache<string, Device>(MAX_CACHED_DEVICES);
  let cachedVersion: number | undefined;
  // userId holds no control characters, so the key is unambiguous.
  const cacheKey = (userId: string, jkt: string) => `${userId}\n${jkt}`;

  async function findByJkt(userId: string, jkt: string): Promise<Device | null> {
    if (version === undefined) return store.getDeviceByJkt(userId, jkt);
    const seen = version();
    if (seen !== cachedVersion) {
      cache.clear();
      cachedVersion = seen;
    }
    const key = cacheKey(userId, jkt);
    const hit = cache.get(key);
    if (hit !== undefined) return copyDevice(hit);
    const device = await store.getDeviceByJkt(userId, jkt);
    // Kept only if nothing changed since the version was read (the read may have waited).
    if (device && cachedVersion === seen) cache.set(key, copyDevice(device));
    return device;
  }

  /** Moves lastSeenAt forward when it is older than the resolution. */
  async function touch(device: Device): Promise<Device> {
    const nowMs = now();
    if (nowMs - device.lastSeenAt.getTime() < resolution) return device;
    const seen = version?.();
    const updated = await store.updateDevice(device.userId, device.id, {
      lastSeenAt: new Date(nowMs),
    });
    if (!updated) return device;
    if (seen !== undefined && cachedVersion === seen)
      cache.set(cacheKey(updated.userId, updated.jkt), copyDevice(updated));
    return updated;
  }

  async function change(
    userId: unknown,
    deviceId: unknown,
    patch: Parameters<DeviceStore["updateDevice"]>[2],
  ) {
    const device = await store.updateDevice(checkUserId(userId), checkDeviceId(deviceId), patch);
    if (!device)
      throw new DeviceBindingError("ERR_DEVICE_NOT_FOUND", "No such device for this user");
    return device;
  }

  async function known(device: Device): Promise<RegisterResult> {
    if (device.status === "blocked") {
      throw new DeviceBindingError("ERR_DEVICE_BLOCKED", "This device is blocked", {
        details: { deviceId: device.id },
      });
    }
    const seen = await touch(device);
    emit({ type: "seen", device: seen });
    return { device: seen, newDeviceDetected: false };
  }

  function need<K extends "findDevicesByJkt" | "countDevices" | "listAllDevices">(
    method: K,
  ): NonNullable<DeviceStore[K]> {
    if (typeof store[method] !== "function")
      throw new TypeError(`store must implement ${method}()`);
    return store[method].bind(store) as NonNullable<DeviceStore[K]>;
  }

  return {
    async register(userId, proof, registerOptions = {}) {
      checkUserId(userId);
      const { jkt, jwk, alg, userAgent } = checkProof(proof);
      const displayName =
        registerOptions.displayName === undefined
          ? deviceNameFromUserAgent(userAgent)
          : checkName(registerOptions.displayName);
      const metadata =
        registerOptions.metadata === undefined ? {} : checkMetadata(registerOptions.metadata);

      const existing = await store.getDeviceByJkt(userId, jkt);
      if (existing) return known(existing);

      const at = new Date(now());
      const result = await store.insertDevice(
        {
          id: newDeviceId(),
          userId,
          jkt,
          publicJwk: jwk,
          alg: (alg ?? "ES256") as ProofAlgorithm,
          status: "active",
          displayName,
          createdAt: at,
          lastSeenAt: at,
          userAgent: typeof userAgent === "string" ? userAgent.slice(0, 512) : null,
          metadata,
        },
        limit,
      );
      if (result.outcome === "limit") {
        throw new DeviceBindingError("ERR_DEVICE_LIMIT", "This user has reached the device limit", {
          details: { maxDevices: limit?.maxDevices },
        });
      }
      // Another call registered the same key first: it reported the new device, not this one.
      if (result.outcome === "existing") return known(result.device);
      for (const device of result.evicted) emit({ type: "deleted", device, reason: "evicted" });
      emit({ type: "registered", device: result.device });
      emit({ type: "newDevice", device: result.device });
      return { device: result.device, newDeviceDetected: true };
    },

    async isKnown(userId, proof) {
      checkUserId(userId);
      if (typeof proof?.jkt !== "string")
        throw new TypeError("pass the VerifiedProof that verifyProof returned");
      const device = await findByJkt(userId, proof.jkt);
      if (!device) return { status: "unknown" };
      if (device.status === "blocked") return { status: "blocked", device };
      const seen = await touch(device);
      emit({ type: "seen", device: seen });
      return { status: "active", device: seen };
    },

    async list(userId) {
      return store.listDevices(checkUserId(userId));
    },

    async get(userId, deviceId) {
      checkUserId(userId);
      if (typeof deviceId !== "string" || !DEVICE_ID.test(deviceId)) return null;
      return store.getDevice(userId, deviceId);
    },

    async update(userId, deviceId, update) {
      if (typeof update !== "object" || update === null)
        invalid("update must be an object", "update");
      const patch: { displayName?: string; metadata?: DeviceMetadata } = {};
      if (update.displayName !== undefined) patch.displayName = checkName(update.displayName);
      if (update.metadata !== undefined) patch.metadata = checkMetadata(update.metadata);
      const device = await change(userId, deviceId, patch);
      emit({ type: "updated", device });
      return device;
    },

    async block(userId, deviceId) {
      const device = await change(userId, deviceId, { status: "blocked" });
      emit({ type: "blocked", device });
      return device;
    },

    async unblock(userId, deviceId) {
      const device = await change(userId, deviceId, { status: "active" });
      emit({ type: "unblocked", device });
      return device;
    },

    async delete(userId, deviceId) {
      const device = await store.getDevice(checkUserId(userId), checkDeviceId(deviceId));
      if (!device || !(await store.deleteDevice(userId, device.id))) {
        throw new DeviceBindingError("ERR_DEVICE_NOT_FOUND", "No such device for this user");
      }
      emit({ type: "deleted", device, reason: "user" });
    },
    async recognize(proof) {
      if (typeof proof?.jkt !== "string")
        throw new TypeError("pass the VerifiedProof that verifyProof returned");
      const devices = await need("findDevicesByJkt")(proof.jkt);
      return devices.filter((device) => device.status === "active");
    },
    async count(userId) {
      return need("countDevices")(checkUserId(userId));
    },
    async listAll(listOptions = {}) {
      if (typeof listOptions !== "object" || listOptions === null)
        invalid("listAll options must be an object", "options");
      const { limit = DEFAULT_PAGE, cursor, status, userId, query } = listOptions;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
        invalid(`limit must be an integer from 1 to ${MAX_PAGE}`, "limit");
      if (status !== undefined && status !== "active" && status !== "blocked")
        invalid('status must be "active" or "blocked"', "status");
      if (
        query !== undefined &&
        (typeof query !== "string" || query.length > MAX_QUERY || NOT_PRINTABLE.test(query))
      ) {
        invalid(`query must be at most ${MAX_QUERY} printable characters`, "query");
      }
      const devices = await need("listAllDevices")({
        limit: limit + 1,
        after: cursor === undefined ? undefined : decodeCursor(cursor),
        status,
        userId: userId === undefined ? undefined : checkUserId(userId),
        query: query === "" ? undefined : query,
      });
      if (devices.length <= limit) return { devices };
      const page = devices.slice(0, limit);
      return { devices: page, nextCursor: encodeCursor(page[limit - 1] as Device) };
    },
  };
}
