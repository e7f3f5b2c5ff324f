// A ReplayStore (atomic SET NX PXAT) and a DeviceStore (Lua) on Redis, for a fleet of servers.
import {
  compareDevicesByCreated,
  type DbscSession,
  type DbscSessionStore,
  type Device,
  DeviceBindingError,
  type DeviceListQuery,
  type DevicePatch,
  type DeviceStore,
  type InsertDeviceResult,
  isAfterPosition,
  isDeviceBindingError,
  matchesDeviceQuery,
  type ReplayStore,
} from "@devicebound/server";
import { Redis } from "ioredis";
import {
  BY_JKT,
  CONSUME,
  DBSC_INDEX,
  DBSC_INSERT,
  DBSC_REPLACE,
  DELETE,
  INSERT,
  REPLACE,
} from "./scripts.js";

export type RedisStoreOptions = (
  | { url: string; client?: undefined }
  | { client: Redis; url?: undefined }
) & {
  /** Prefix of every key. Default "devicebound:". */
  keyPrefix?: string;
};

export type RedisStore = DeviceStore &
  ReplayStore &
  DbscSessionStore & {
    close(): Promise<void>;
    readonly client: Redis;
    /**
     * Adds every stored device to the all-users indexes (by key, and in created order) and
     * resolves how many it saw. Runs by itself on first use of `findDevicesByJkt` or
     * `listAllDevices` where the indexes were never built; call it once more after a rolling
     * upgrade, when every server maintains them, for devices the old servers registered.
     */
    reindex(): Promise<number>;
  };

type Commands = Redis & {
  dbInsert(...args: (string | number)[]): Promise<string[]>;
  dbReplace(...args: (string | number)[]): Promise<number>;
  dbDelete(...args: (string | number)[]): Promise<number>;
  dbByJkt(...args: (string | number)[]): Promise<string | null>;
  dbConsume(key: string, expiresAtMs: number): Promise<number>;
  dbDbscInsert(key: string, json: string, expiresAtMs: number): Promise<number>;
  dbDbscReplace(key: string, current: string, next: string, expiresAtMs: number): Promise<number>;
  dbDbscIndex(key: string, score: number, member: string, expiresAtMs: number): Promise<number>;
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

// The all-users indexes live outside the per-user hash tags (a global sorted set, and one set
// per key), so they cannot join the per-user scripts on Redis Cluster. They are kept a superset
// instead: written before a device is stored, removed after it is deleted, and every read checks
// each entry against the device itself, skipping entries whose device is gone.
// A member of the created-order set: zero-padded createdAtMs, id, userId, NUL-separated, so
// lexicographic order is (createdAt, id) order (ids are ASCII, above NUL) and a member names the
// hash to read. One of a key's set: userId and id.
const SEP = "\u0000";
const createdMember = (createdAtMs: number, id: string, userId: string) =>
  `${String(createdAtMs).padStart(15, "0")}${SEP}${id}${SEP}${userId}`;
/** The exclusive lower bound (ZRANGEBYLEX) just after every member of this (createdAtMs, id). */
const afterBound = (createdAtMs: number, id: string) =>
  `(${String(createdAtMs).padStart(15, "0")}${SEP}${id}\u0001`;
const INDEX_VERSION = "1";
const PAGE_BATCH = 200;
// ---- DBSC sessions ----
interface StoredDbscSession extends Omit<DbscSession, "createdAt" | "refreshedAt" | "expiresAt"> {
  createdAt: number;
  refreshedAt: number | null;
  expiresAt: number;
}

const encodeDbsc = (s: DbscSession): string =>
  JSON.stringify({
    ...s,
    createdAt: s.createdAt.getTime(),
    refreshedAt: s.refreshedAt?.getTime() ?? null,
    expiresAt: s.expiresAt.getTime(),
  } satisfies StoredDbscSession);

function decodeDbsc(json: string): DbscSession {
  try {
    const s = JSON.parse(json) as StoredDbscSession;
    return {
      ...s,
      createdAt: new Date(s.createdAt),
      refreshedAt: s.refreshedAt === null ? null : new Date(s.refreshedAt),
      expiresAt: new Date(s.expiresAt),
    };
  } catch (cause) {
    throw new DeviceBindingError("ERR_STORE_CORRUPT", "A stored DBSC session could not be read", {
      cause,
    });
  }
}
// ---- end DBSC sessions ----

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
    dbDbscInsert: [DBSC_INSERT, 1],
    dbDbscReplace: [DBSC_REPLACE, 1],
    dbDbscIndex: [DBSC_INDEX, 1],
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
  const allKey = `${prefix}all-devices`;
  const jktKey = (jkt: string) => `${prefix}jkt:${jkt}`;
  const versionKey = `${prefix}indexes`;
  const entries = (d: Device) =>
    [createdMember(d.createdAt.getTime(), d.id, d.userId), `${d.userId}${SEP}${d.id}`] as const;
  async function index(d: Device): Promise<void> {
    const [created, holder] = entries(d);
    await Promise.all([client.zadd(allKey, 0, created), client.sadd(jktKey(d.jkt), holder)]);
  }
  async function unindex(d: Device): Promise<void> {
    const [created, holder] = entries(d);
    await Promise.all([client.zrem(allKey, created), client.srem(jktKey(d.jkt), holder)]);
  }
  /** Reads the devices named by index entries ([userId, id] pairs), skipping any now gone. */
  async function readEntries(pairs: (readonly [string, string])[]): Promise<Device[]> {
    const found = await Promise.all(pairs.map(([userId, id]) => client.hget(keys(userId)[0], id)));
    return found.flatMap((json) => (json === null ? [] : [decode(json)]));
  }
  async function reindex(): Promise<number> {
    // SCAN MATCH is a glob: escape the prefix, then match every user's devices hash.
    const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}{*}:devices`;
    let cursor = "0";
    let count = 0;
    do {
      const [next, found] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      for (const key of found) {
        for (const json of Object.values(await client.hgetall(key))) {
          await index(decode(json));
          count++;
        }
      }
    } while (cursor !== "0");
    await client.set(versionKey, INDEX_VERSION);
    return count;
  }
  let indexed: Promise<void> | null = null;
  function ensureIndexed(): Promise<void> {
    indexed ??= (async () => {
      if ((await client.get(versionKey)) !== INDEX_VERSION) await reindex();
    })();
    indexed.catch(() => {
      indexed = null; // try again on the next call
    });
    return indexed;
  }
  // DBSC sessions are read by id alone, so each has its own key (and slot); a device's index of
  // them sits under the user's hash tag.
  const dbscKey = (sessionId: string) => `${prefix}dbsc:{${sessionId}}`;
  const dbscIndexKey = (userId: string, deviceId: string) =>
    `${keys(userId)[0].slice(0, -":devices".length)}:dbsc:${deviceId}`;
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
    reindex: () => run(reindex),
    insertDevice(device, limit) {
      return run(async (): Promise<InsertDeviceResult> => {
        await index(device);
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
        if (outcome !== "created") await unindex(device);
        if (outcome === "limit") return { outcome: "limit" };
        if (outcome === "existing") return { outcome: "existing", device: decode(json as string) };
        const gone = evicted.map(decode);
        for (const victim of gone) await unindex(victim);
        return { outcome: "created", device: decode(json as string), evicted: gone };
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
      return run(async () =>
        Object.values(await client.hgetall(keys(userId)[0]))
          .map(decode)
          .sort(compareDevicesByCreated),
      );
    },
    updateDevice(userId, deviceId, patch) {
      return run(() => replace(userId, deviceId, patch));
    },
    deleteDevice(userId, deviceId) {
      return run(async () => {
        const json = await client.hget(keys(userId)[0], deviceId);
        if (json === null) return false;
        if ((await client.dbDelete(...keys(userId), deviceId)) !== 1) return false;
        // id, user, key and createdAt never change, so the record read above names its entries.
        await unindex(decode(json));
        return true;
      });
    },
    findDevicesByJkt(jkt) {
      return run(async () => {
        await ensureIndexed();
        const holders = await client.smembers(jktKey(jkt));
        const pairs = holders.map((h) => {
          const at = h.lastIndexOf(SEP);
          return [h.slice(0, at), h.slice(at + 1)] as const;
        });
        const found = await readEntries(pairs);
        return found.filter((d) => d.jkt === jkt).sort(compareDevicesByCreated);
      });
    },
    countDevices(userId) {
      return run(() => client.hlen(keys(userId)[0]));
    },
    listAllDevices(query: DeviceListQuery) {
      return run(async () => {
        if (query.userId !== undefined) {
          // One user's devices are few and share one hash: filter them here.
          const all = Object.values(await client.hgetall(keys(query.userId)[0])).map(decode);
          return all
            .filter((d) => isAfterPosition(d, query.after) && matchesDeviceQuery(d, query))
            .sort(compareDevicesByCreated)
            .slice(0, query.limit);
        }
        await ensureIndexed();
        // Walk the created-order set from the position, a batch at a time (O(log n) to find
        // the start, whatever the depth), until the page is full or the set ends.
        const page: Device[] = [];
        let start = query.after ? afterBound(query.after.createdAtMs, query.after.id) : "-";
        const batch = Math.max(query.limit, PAGE_BATCH);
        for (;;) {
          const members = await client.zrangebylex(allKey, start, "+", "LIMIT", 0, batch);
          const pairs = members.map((m) => {
            const [, id, ...user] = m.split(SEP);
            return [user.join(SEP), id as string] as const;
          });
          for (const device of await readEntries(pairs)) {
            if (isAfterPosition(device, query.after) && matchesDeviceQuery(device, query)) {
              page.push(device);
              if (page.length === query.limit) return page;
            }
          }
          if (members.length < batch) return page;
          start = `(${members.at(-1)}`;
        }
      });
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
    // ---- DBSC sessions ----
    insertDbscSession(session) {
      return run(async () => {
        const expiresAtMs = session.expiresAt.getTime();
        // The index first: a stored session is then always listed (a stale entry is skipped).
        await client.dbDbscIndex(
          dbscIndexKey(session.userId, session.deviceId),
          session.createdAt.getTime(),
          session.id,
          expiresAtMs,
        );
        return (
          (await client.dbDbscInsert(dbscKey(session.id), encodeDbsc(session), expiresAtMs)) === 1
        );
      });
    },
    getDbscSession(sessionId) {
      return run(async () => {
        const json = await client.get(dbscKey(sessionId));
        // PXAT expires on Redis's clock; this check keeps the contract on the app's clock too.
        const session = json === null ? null : decodeDbsc(json);
        return session && session.expiresAt.getTime() > Date.now() ? session : null;
      });
    },
    updateDbscSession(sessionId, expectedVersion, patch) {
      return run(async () => {
        const key = dbscKey(sessionId);
        for (;;) {
          const current = await client.get(key);
          if (current === null) return null;
          const session = decodeDbsc(current);
          if (session.version !== expectedVersion || session.expiresAt.getTime() <= Date.now())
            return null;
          const next: DbscSession = { ...session, version: session.version + 1 };
          for (const [name, value] of Object.entries(patch)) {
            if (value !== undefined) (next as unknown as Record<string, unknown>)[name] = value;
          }
          const result = await client.dbDbscReplace(
            key,
            current,
            encodeDbsc(next),
            next.expiresAt.getTime(),
          );
          if (result === 0) return null;
          if (result === 1) {
            if (patch.expiresAt) {
              await client.dbDbscIndex(
                dbscIndexKey(next.userId, next.deviceId),
                next.createdAt.getTime(),
                next.id,
                next.expiresAt.getTime(),
              );
            }
            return next;
          }
          // -1: another update landed between our read and write; read again.
        }
      });
    },
    listDbscSessions(userId, deviceId) {
      return run(async () => {
        const index = dbscIndexKey(userId, deviceId);
        const ids = await client.zrange(index, 0, -1);
        const found: DbscSession[] = [];
        for (const id of ids) {
          const json = await client.get(dbscKey(id));
          const session = json === null ? null : decodeDbsc(json);
          if (session === null) await client.zrem(index, id);
          else if (
            session.userId === userId &&
            session.deviceId === deviceId &&
            session.expiresAt.getTime() > Date.now()
          )
            found.push(session);
        }
        return found.sort(
          (a, b) =>
            a.createdAt.getTime() - b.createdAt.getTime() ||
            (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
      });
    },
    // ---- end DBSC sessions ----
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await client.quit().catch(() => client.disconnect());
    },
  };
}
