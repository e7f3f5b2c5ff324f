// The demo's state in Redis, shared by every process of the fleet. Expiry is Redis's own (PXAT),
// so nothing needs sweeping: a session, a pending sign-in or a wrong-code window simply lapses.
import {
  type AuditEntry,
  DEFAULT_SETTINGS,
  type DemoState,
  type EndReason,
  type Message,
  type PendingSignIn,
  type SessionRecord,
  type SsoSession,
} from "example-express/src/demo-state.js";
import type { Redis } from "ioredis";

const MAX_MESSAGES = 100;

// Sets the SSO session's jkt unless it has one (keeping its expiry), and returns the jkt it holds.
const BIND_SSO = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local sso = cjson.decode(raw)
if sso.jkt == nil or sso.jkt == cjson.null then
  sso.jkt = ARGV[1]
  redis.call('SET', KEYS[1], cjson.encode(sso), 'KEEPTTL')
end
return sso.jkt
`;

export function redisState(redis: Redis, prefix: string): DemoState {
  const k = {
    session: (id: string) => `${prefix}session:${id}`,
    ended: (id: string) => `${prefix}ended-session:${id}`,
    device: (userId: string, deviceId: string) => `${prefix}device-sessions:${userId}:${deviceId}`,
    pending: (id: string) => `${prefix}pending:${id}`,
    sso: (id: string) => `${prefix}sso:${id}`,
    failures: (key: string) => `${prefix}code-failures:${key}`,
    outbox: (userId: string) => `${prefix}outbox:${userId}`,
    settings: `${prefix}settings`,
    audit: `${prefix}audit`,
  };

  async function end(ids: string[], reason: EndReason) {
    for (const id of ids) {
      const raw = await redis.get(k.session(id));
      if (!raw) continue;
      const session = JSON.parse(raw) as SessionRecord;
      // The session is gone; its id and the reason stay until it would have expired.
      await redis
        .multi()
        .del(k.session(id))
        .srem(k.device(session.userId, session.deviceId), id)
        .set(k.ended(id), reason, "PXAT", session.expiresAtMs)
        .exec();
    }
  }

  return {
    async createSession(session) {
      await redis
        .multi()
        .set(k.session(session.id), JSON.stringify(session), "PXAT", session.expiresAtMs)
        .sadd(k.device(session.userId, session.deviceId), session.id)
        .pexpireat(k.device(session.userId, session.deviceId), session.expiresAtMs)
        .exec();
    },
    async getSession(id) {
      const raw = await redis.get(k.session(id));
      return raw ? (JSON.parse(raw) as SessionRecord) : null;
    },
    endSession: (id, reason) => end([id], reason),
    async endDeviceSessions(userId, deviceId, reason) {
      await end(await redis.smembers(k.device(userId, deviceId)), reason);
    },
    async endedReason(id) {
      return (await redis.get(k.ended(id))) as EndReason | null;
    },
    async createSso(sso) {
      await redis.set(k.sso(sso.id), JSON.stringify(sso), "PXAT", sso.expiresAtMs);
    },
    async getSso(id) {
      const raw = await redis.get(k.sso(id));
      return raw ? (JSON.parse(raw) as SsoSession) : null;
    },
    async bindSso(id, jkt) {
      // Atomic inside Redis, so two servers binding one SSO session at once agree on the winner.
      const bound = await redis.eval(BIND_SSO, 1, k.sso(id), jkt);
      return typeof bound === "string" ? bound : null;
    },
    async deleteSso(id) {
      await redis.del(k.sso(id));
    },
    async putPending(pending) {
      await redis.set(k.pending(pending.id), JSON.stringify(pending), "PXAT", pending.expiresAtMs);
    },
    async getPending(id) {
      const raw = await redis.get(k.pending(id));
      return raw ? (JSON.parse(raw) as PendingSignIn) : null;
    },
    async deletePending(id) {
      await redis.del(k.pending(id));
    },
    async addFailure(keys, windowMs) {
      const multi = redis.multi();
      // The window starts at the first failure: SET NX gives it its expiry, INCR keeps it.
      for (const key of keys)
        multi.set(k.failures(key), 0, "PX", windowMs, "NX").incr(k.failures(key));
      const results = (await multi.exec()) ?? [];
      return keys.map((_, i) => Number(results[i * 2 + 1]?.[1] ?? 0));
    },
    async failures(keys) {
      const values = await redis.mget(keys.map(k.failures));
      return values.map((v) => Number(v ?? 0));
    },
    async clearFailures(keys) {
      await redis.del(...keys.map(k.failures));
    },
    async send(message) {
      await redis
        .multi()
        .lpush(k.outbox(message.userId), JSON.stringify(message))
        .ltrim(k.outbox(message.userId), 0, MAX_MESSAGES - 1)
        .exec();
    },
    async inbox(userId) {
      const raw = await redis.lrange(k.outbox(userId), 0, MAX_MESSAGES - 1);
      return raw.map((m) => JSON.parse(m) as Message);
    },
    async getSettings(userId) {
      const raw = await redis.hget(k.settings, userId);
      return { ...DEFAULT_SETTINGS, ...(raw ? JSON.parse(raw) : {}) };
    },
    async putSettings(userId, settings) {
      await redis.hset(k.settings, userId, JSON.stringify(settings));
    },
    async audit(entry) {
      await redis.lpush(k.audit, JSON.stringify(entry));
    },
    async auditLog(limit) {
      return (await redis.lrange(k.audit, 0, limit - 1)).map((e) => JSON.parse(e) as AuditEntry);
    },
    async sweep() {},
  };
}
