// A ReplayStore (atomic SET NX PXAT) and a DeviceStore (Lua) on Redis, for a fleet of servers.
import {
  type Device,
  DeviceBindingError,
  type DevicePatch,
  type DeviceStore,
  type InsertDeviceResult,
  isDeviceBindingError,
  type ReplayStore,
} from "@devicebound/server";
import { Redis } from "ioredis";
import { BY_JKT, CONSUME, DELETE, INSERT, REPLACE } from "./scripts.js";

export type RedisStoreOptions = (
  | { url: string; client?: undefined }
  | { client: Redis; url?: undefined }
) & {
  /** Prefix of every key. Default "devicebound:". */
  keyPrefix?: string;
};

export type RedisStore = DeviceStore &
  ReplayStore & { close(): Promise<void>; readonly client: Redis };

type Commands = Redis & {
  dbInsert(...args: (string | number)[]): Promise<string[]>;
  dbReplace(...args: (string | number)[]): Promise<number>;
  dbDelete(...args: (string | number)[]): Promise<number>;
  dbByJkt(...args: (string | number)[]): Promise<string | null>;
  dbConsume(key: string, expiresAtMs: number): Promise<number>;
};

interface StoredDevice extends Omit<Device, "createdAt" | "lastSeenAt"> {
  createdAt: number;
  lastSeenAt: number;
}

const encode = (d: Device): string =>
  JSON.stringify({
    ...d,
    createdAt: d.createdAt.getTime(),
    lastSeenAt: d.lastSeenAt.getTime(),
  } satisfies StoredDevice);

function decode(json: string): Device {
  try {
    const s = JSON.parse(json) as StoredDevice;
    return { ...s, createdAt: new Date(s.createdAt), lastSeenAt: new Date(s.lastSeenAt) };
  } catch (cause) {
    throw new DeviceBindingError("ERR_STORE_CORRUPT", "A stored device could not be read", {
      cause,
    });
  }
}

export function redisStore(options: RedisStoreOptions): RedisStore {
  if (
    typeof options !== "object" ||
    options === null ||
    (!options.client && typeof options.url !== "string")
  ) {
    throw new TypeError("redisStore needs { url } or { client }");
  }
  const owned = !options.client;
  // Fail closed fast: a down Redis rejects the request instead of queueing it for long.
  const client = (options.client ??
    new Redis(options.url as string, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      lazyConnect: false,
    })) as Commands;
  if (owned) client.on("error", () => {}); // surfaced per command instead
  const scripts = {
    dbInsert: [INSERT, 4],
    dbReplace: [REPLACE, 4],
    dbDelete: [DELETE, 4],
    dbByJkt: [BY_JKT, 2],
    dbConsume: [CONSUME, 1],
  } as const;
  for (const [name, [lua, numberOfKeys]] of Object.entries(scripts)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== "function") {
      client.defineCommand(name, { numberOfKeys, lua });
    }
  }
  const prefix = options.keyPrefix ?? "devicebound:";
  // One hash tag per user keeps a user's keys in one cluster slot, as the scripts need.
  const keys = (userId: string) => {
    // Escape % first so the escaping is reversible: "a}b" and "a%7Db" stay two users.
    const tag = `${prefix}{${userId.replaceAll("%", "%25").replaceAll("}", "%7D")}}`;
    return [`${tag}:devices`, `${tag}:jkts`, `${tag}:seen`, `${tag}:created`] as const;
  };
  let closed = false;

  async function run<T>(fn: () => Promise<T>): Promise<T> {
    if (closed) throw new DeviceBindingError("ERR_STORE_UNAVAILABLE", "The Redis store is closed");
    try {
      return await fn();
    } catch (cause) {
      if (isDeviceBindingError(cause)) throw cause;
      throw new DeviceBindingError("ERR_STORE_UNAVAILABLE", "Redis could not be used", { cause });
    }
  }

  async function replace(
    userId: string,
    deviceId: string,
    patch: DevicePatch,
  ): Promise<Device | null> {
    const k = keys(userId);
    for (;;) {
      const current = await client.hget(k[0], deviceId);
      if (current === null) return null;
      const device = decode(current);
      const next: Device = {
        ...device,
        ...(patch.displayName === undefined ? {} : { displayName: patch.displayName }),
        ...(patch.metadata === undefined ? {} : { metadata: patch.metadata }),
        ...(patch.status === undefined ? {} : { status: patch.status }),
        ...(patch.lastSeenAt === undefined ? {} : { lastSeenAt: new Date(patch.lastSeenAt) }),
      };
      const result = await client.dbReplace(
        ...k,
        deviceId,
        current,
        encode(next),
        next.lastSeenAt.getTime(),
      );
      if (result === 1) return next;
      if (result === 0) return null;
      // -1: someone changed it between our read and write; read again.
    }
  }

  return {
    client,
    insertDevice(device, limit) {
      return run(async (): Promise<InsertDeviceResult> => {
        const [outcome, json, ...evicted] = await client.dbInsert(
          ...keys(device.userId),
          device.id,
          device.jkt,
          encode(device),
          device.lastSeenAt.getTime(),
          device.createdAt.getTime(),
          limit?.maxDevices ?? 0,
          limit?.onLimit ?? "reject",
        );
        if (outcome === "limit") return { outcome: "limit" };
        if (outcome === "existing") return { outcome: "existing", device: decode(json as string) };
        return { outcome: "created", device: decode(json as string), evicted: evicted.map(decode) };
      });
    },
    getDevice(userId, deviceId) {
      return run(async () => {
        const json = await client.hget(keys(userId)[0], deviceId);
        return json === null ? null : decode(json);
      });
    },
    getDeviceByJkt(userId, jkt) {
      return run(async () => {
        const [devices, jkts] = keys(userId);
        const json = await client.dbByJkt(devices, jkts, jkt);
        return json === null ? null : decode(json);
      });
    },
    listDevices(userId) {
      return run(async () => {
        const all = Object.values(await client.hgetall(keys(userId)[0])).map(decode);
        return all.sort(
          (a, b) =>
            a.createdAt.getTime() - b.createdAt.getTime() ||
            (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
      });
    },
    updateDevice(userId, deviceId, patch) {
      return run(() => replace(userId, deviceId, patch));
    },
    deleteDevice(userId, deviceId) {
      return run(async () => (await client.dbDelete(...keys(userId), deviceId)) === 1);
    },
    consume(key, expiresAtMs) {
      // A record that would already be expired cannot promise "once": refuse, never record it.
      // The script checks again against Redis's own clock, which decides when PXAT expires.
      if (!(expiresAtMs > Date.now())) return Promise.resolve(false);
      return run(
        async () =>
          (await client.dbConsume(`${prefix}replay:${key}`, Math.ceil(expiresAtMs))) === 1,
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await client.quit().catch(() => client.disconnect());
    },
  };
}
