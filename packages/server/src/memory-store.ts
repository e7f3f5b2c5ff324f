// The in-memory store: devices and replay keys in Maps. For tests, demos and single-process
// apps; every operation is synchronous inside, so each one is atomic.
import {
  compareDevicesByCreated,
  copyDevice as copy,
  type DbscSession,
  type DbscSessionStore,
  type Device,
  type DeviceLimit,
  type DevicePatch,
  type DeviceStore,
  type InsertDeviceResult,
  isAfterPosition,
  matchesDeviceQuery,
  type ReplayStore,
} from "./device-store.js";

export interface MemoryStoreOptions {
  /** Current time in ms (a seam for tests). Default `Date.now`. */
  now?: () => number;
}

export type MemoryStore = DeviceStore &
  ReplayStore &
  DbscSessionStore & { close(): Promise<void>; devicesVersion(): number };

const SWEEP_EVERY = 1024;

/** Orders devices for eviction: least recently seen first, then oldest, then by id. */
export function byLeastRecentlySeen(a: Device, b: Device): number {
  return (
    a.lastSeenAt.getTime() - b.lastSeenAt.getTime() ||
    a.createdAt.getTime() - b.createdAt.getTime() ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const users = new Map<string, Map<string, Device>>();
  // jkt -> the stored devices (the same objects as in `users`) holding that key.
  const byJkt = new Map<string, Set<Device>>();
  const replay = new Map<string, number>();
  const dbscSessions = new Map<string, DbscSession>();
  let dbscInserts = 0;
  let consumes = 0;
  // Moves on every change but a lastSeenAt: see DeviceStore.devicesVersion.
  let version = 0;

  function remove(devices: Map<string, Device>, device: Device) {
    devices.delete(device.id);
    const holders = byJkt.get(device.jkt);
    holders?.delete(device);
    if (holders?.size === 0) byJkt.delete(device.jkt);
  }

  const devicesOf = (userId: string) => users.get(userId);

  function sweep(nowMs: number) {
    for (const [key, expiresAtMs] of replay) if (expiresAtMs <= nowMs) replay.delete(key);
  }

  return {
    async insertDevice(device: Device, limit?: DeviceLimit): Promise<InsertDeviceResult> {
      let devices = devicesOf(device.userId);
      for (const existing of devices?.values() ?? []) {
        if (existing.jkt === device.jkt) return { outcome: "existing", device: copy(existing) };
      }
      const evicted: Device[] = [];
      // Blocked devices neither count toward the limit nor are evicted: evicting one would let
      // its key register again as a new, active device.
      const active = [...(devices?.values() ?? [])].filter((d) => d.status === "active");
      if (limit && devices && active.length >= limit.maxDevices) {
        if (limit.onLimit === "reject") return { outcome: "limit" };
        const oldest = active.sort(byLeastRecentlySeen);
        for (const victim of oldest.slice(0, active.length - limit.maxDevices + 1)) {
          remove(devices, victim);
          evicted.push(copy(victim));
        }
      }
      if (!devices) {
        devices = new Map();
        users.set(device.userId, devices);
      }
      const stored = copy(device);
      version++;
      devices.set(device.id, stored);
      byJkt.set(device.jkt, (byJkt.get(device.jkt) ?? new Set()).add(stored));
      return { outcome: "created", device: copy(device), evicted };
    },

    async getDevice(userId, deviceId) {
      const device = devicesOf(userId)?.get(deviceId);
      return device ? copy(device) : null;
    },

    async getDeviceByJkt(userId, jkt) {
      for (const device of devicesOf(userId)?.values() ?? []) {
        if (device.jkt === jkt) return copy(device);
      }
      return null;
    },

    async listDevices(userId) {
      return [...(devicesOf(userId)?.values() ?? [])].sort(compareDevicesByCreated).map(copy);
    },

    async updateDevice(userId, deviceId, patch: DevicePatch) {
      const device = devicesOf(userId)?.get(deviceId);
      if (!device) return null;
      if (
        patch.displayName !== undefined ||
        patch.metadata !== undefined ||
        patch.status !== undefined
      )
        version++;
      if (patch.displayName !== undefined) device.displayName = patch.displayName;
      if (patch.metadata !== undefined) device.metadata = structuredClone(patch.metadata);
      if (patch.status !== undefined) device.status = patch.status;
      if (patch.lastSeenAt !== undefined) device.lastSeenAt = new Date(patch.lastSeenAt);
      return copy(device);
    },

    async deleteDevice(userId, deviceId) {
      const devices = devicesOf(userId);
      const device = devices?.get(deviceId);
      if (!devices || !device) return false;
      remove(devices, device);
      version++;
      if (devices.size === 0) users.delete(userId);
      return true;
    },

    devicesVersion() {
      return version;
    },

    async findDevicesByJkt(jkt) {
      return [...(byJkt.get(jkt) ?? [])].sort(compareDevicesByCreated).map(copy);
    },
    async countDevices(userId) {
      return devicesOf(userId)?.size ?? 0;
    },
    // A scan of every device per call: fine for tests and demos, which is what this store is for.
    async listAllDevices(query) {
      const pool = query.userId === undefined ? [...users.values()] : [devicesOf(query.userId)];
      const found: Device[] = [];
      for (const devices of pool) {
        for (const device of devices?.values() ?? []) {
          if (isAfterPosition(device, query.after) && matchesDeviceQuery(device, query))
            found.push(device);
        }
      }
      return found.sort(compareDevicesByCreated).slice(0, query.limit).map(copy);
    },
    async consume(key, expiresAtMs) {
      const nowMs = now();
      // A record that would already be expired cannot promise "once": refuse, never record it.
      if (!(expiresAtMs > nowMs)) return false;
      if (++consumes % SWEEP_EVERY === 0) sweep(nowMs);
      const existing = replay.get(key);
      if (existing !== undefined && existing > nowMs) return false;
      replay.set(key, expiresAtMs);
      return true;
    },

    // ---- DBSC sessions ----
    async insertDbscSession(session) {
      // Browsers without DBSC leave pending sessions behind: sweep them as replay keys are swept.
      if (++dbscInserts % SWEEP_EVERY === 0) {
        const nowMs = now();
        for (const [id, s] of dbscSessions)
          if (s.expiresAt.getTime() <= nowMs) dbscSessions.delete(id);
      }
      const existing = dbscSessions.get(session.id);
      if (existing && existing.expiresAt.getTime() > now()) return false;
      dbscSessions.set(session.id, structuredClone(session));
      return true;
    },

    async getDbscSession(sessionId) {
      const session = dbscSessions.get(sessionId);
      if (!session) return null;
      if (session.expiresAt.getTime() <= now()) {
        dbscSessions.delete(sessionId);
        return null;
      }
      return structuredClone(session);
    },

    async updateDbscSession(sessionId, expectedVersion, patch) {
      const session = dbscSessions.get(sessionId);
      if (!session || session.expiresAt.getTime() <= now() || session.version !== expectedVersion)
        return null;
      const next: DbscSession = { ...session, version: session.version + 1 };
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
      }
      dbscSessions.set(sessionId, structuredClone(next));
      return structuredClone(next);
    },

    async listDbscSessions(userId, deviceId) {
      const nowMs = now();
      return [...dbscSessions.values()]
        .filter(
          (s) => s.userId === userId && s.deviceId === deviceId && s.expiresAt.getTime() > nowMs,
        )
        .sort(
          (a, b) =>
            a.createdAt.getTime() - b.createdAt.getTime() ||
            (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        )
        .map((s) => structuredClone(s));
    },
    // ---- end DBSC sessions ----

    async close() {
      users.clear();
      byJkt.clear();
      replay.clear();
      dbscSessions.clear();
    },
  };
}
