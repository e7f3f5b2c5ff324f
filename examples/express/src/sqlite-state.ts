// The demo's own tables, in the same SQLite file as the device store, so sessions, pending
// sign-ins, counters, the outbox and settings survive a restart.
import type { SqliteStore } from "@devicebound/store-sqlite";
import {
  DEFAULT_SETTINGS,
  type DemoState,
  type EndReason,
  type Message,
  type PendingSignIn,
  type SessionRecord,
} from "./demo-state.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS demo_sessions (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, jkt TEXT NOT NULL, device_id TEXT NOT NULL,
  ip_address TEXT, created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS demo_sessions_device ON demo_sessions (user_id, device_id);
CREATE TABLE IF NOT EXISTS demo_ended_sessions (
  id TEXT PRIMARY KEY, reason TEXT NOT NULL, expires_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS demo_pending (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, jkt TEXT NOT NULL, code TEXT NOT NULL,
  ip_address TEXT, expires_at_ms INTEGER NOT NULL, resends INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS demo_failures (
  key TEXT PRIMARY KEY, count INTEGER NOT NULL, reset_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS demo_messages (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, at TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS demo_messages_user ON demo_messages (user_id, at);
CREATE TABLE IF NOT EXISTS demo_sso (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, jkt TEXT, ip_address TEXT,
  expires_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS demo_user_settings (user_id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS demo_audit (id TEXT PRIMARY KEY, at TEXT NOT NULL, json TEXT NOT NULL);
`;

interface SessionRow {
  id: string;
  user_id: string;
  jkt: string;
  device_id: string;
  ip_address: string | null;
  created_at_ms: number;
  expires_at_ms: number;
  dbsc_session_id: string | null;
}

interface PendingRow {
  id: string;
  user_id: string;
  jkt: string;
  code: string;
  ip_address: string | null;
  expires_at_ms: number;
  resends: number;
}

export function sqliteState(store: SqliteStore): DemoState {
  const db = store.database;
  db.exec(SCHEMA);
  // Data dirs from before hardware-bound sessions: the column is added in place.
  const columns = db.prepare("SELECT name FROM pragma_table_info('demo_sessions')").pluck().all();
  if (!columns.includes("dbsc_session_id"))
    db.exec("ALTER TABLE demo_sessions ADD COLUMN dbsc_session_id TEXT");
  const q = {
    insertSession: db.prepare(
      `INSERT INTO demo_sessions (id, user_id, jkt, device_id, ip_address, created_at_ms,
         expires_at_ms, dbsc_session_id)
       VALUES (@id, @userId, @jkt, @deviceId, @ipAddress, @createdAtMs, @expiresAtMs, @dbscSessionId)`,
    ),
    getSession: db.prepare("SELECT * FROM demo_sessions WHERE id = ?"),
    deviceSessions: db.prepare(
      "SELECT id, expires_at_ms FROM demo_sessions WHERE user_id = ? AND device_id = ?",
    ),
    deleteSession: db.prepare("DELETE FROM demo_sessions WHERE id = ? RETURNING expires_at_ms"),
    remember: db.prepare("INSERT OR REPLACE INTO demo_ended_sessions VALUES (?, ?, ?)"),
    endedReason: db.prepare(
      "SELECT reason FROM demo_ended_sessions WHERE id = ? AND expires_at_ms > ?",
    ),
    putPending: db.prepare(
      `INSERT OR REPLACE INTO demo_pending VALUES (@id, @userId, @jkt, @code, @ipAddress, @expiresAtMs, @resends)`,
    ),
    getPending: db.prepare("SELECT * FROM demo_pending WHERE id = ?"),
    deletePending: db.prepare("DELETE FROM demo_pending WHERE id = ?"),
    getFailure: db.prepare("SELECT count FROM demo_failures WHERE key = ? AND reset_at_ms > ?"),
    addFailure: db.prepare(
      `INSERT INTO demo_failures VALUES (@key, 1, @resetAtMs)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN reset_at_ms > @nowMs THEN count + 1 ELSE 1 END,
         reset_at_ms = CASE WHEN reset_at_ms > @nowMs THEN reset_at_ms ELSE @resetAtMs END
       RETURNING count`,
    ),
    clearFailure: db.prepare("DELETE FROM demo_failures WHERE key = ?"),
    send: db.prepare("INSERT INTO demo_messages VALUES (?, ?, ?, ?)"),
    inbox: db.prepare(
      "SELECT json FROM demo_messages WHERE user_id = ? ORDER BY at DESC, rowid DESC",
    ),
    getSettings: db.prepare("SELECT json FROM demo_user_settings WHERE user_id = ?"),
    putSettings: db.prepare("INSERT OR REPLACE INTO demo_user_settings VALUES (?, ?)"),
    audit: db.prepare("INSERT INTO demo_audit VALUES (?, ?, ?)"),
    auditLog: db.prepare("SELECT json FROM demo_audit ORDER BY at DESC, rowid DESC LIMIT ?"),
    sweepSessions: db.prepare("DELETE FROM demo_sessions WHERE expires_at_ms < ?"),
    sweepEnded: db.prepare("DELETE FROM demo_ended_sessions WHERE expires_at_ms < ?"),
    sweepPending: db.prepare("DELETE FROM demo_pending WHERE expires_at_ms < ?"),
    sweepFailures: db.prepare("DELETE FROM demo_failures WHERE reset_at_ms < ?"),
    createSso: db.prepare(
      "INSERT INTO demo_sso VALUES (@id, @userId, @jkt, @ipAddress, @expiresAtMs)",
    ),
    getSso: db.prepare("SELECT * FROM demo_sso WHERE id = ? AND expires_at_ms > ?"),
    // One statement: the first key wins, and every caller reads the winner back.
    bindSso: db.prepare(
      "UPDATE demo_sso SET jkt = coalesce(jkt, @jkt) WHERE id = @id AND expires_at_ms > @nowMs RETURNING jkt",
    ),
    deleteSso: db.prepare("DELETE FROM demo_sso WHERE id = ?"),
    sweepSso: db.prepare("DELETE FROM demo_sso WHERE expires_at_ms < ?"),
  };
  const end = db.transaction((ids: string[], reason: EndReason) => {
    for (const id of ids) {
      const row = q.deleteSession.get(id) as { expires_at_ms: number } | undefined;
      if (row) q.remember.run(id, reason, row.expires_at_ms);
    }
  });
  const endDevice = db.transaction((userId: string, deviceId: string, reason: EndReason) =>
    end(
      (q.deviceSessions.all(userId, deviceId) as { id: string }[]).map((r) => r.id),
      reason,
    ),
  );
  const addFailures = db.transaction((keys: string[], windowMs: number, nowMs: number) =>
    keys.map(
      (key) =>
        (q.addFailure.get({ key, resetAtMs: nowMs + windowMs, nowMs }) as { count: number }).count,
    ),
  );

  return {
    async createSession(s) {
      q.insertSession.run({ ...s, dbscSessionId: s.dbscSessionId ?? null });
    },
    async getSession(id) {
      const row = q.getSession.get(id) as SessionRow | undefined;
      if (!row) return null;
      return {
        id: row.id,
        userId: row.user_id,
        jkt: row.jkt,
        deviceId: row.device_id,
        ipAddress: row.ip_address,
        createdAtMs: row.created_at_ms,
        expiresAtMs: row.expires_at_ms,
        dbscSessionId: row.dbsc_session_id,
      } satisfies SessionRecord;
    },
    async endSession(id, reason) {
      end([id], reason);
    },
    async endDeviceSessions(userId, deviceId, reason) {
      endDevice(userId, deviceId, reason);
    },
    async endedReason(id) {
      const row = q.endedReason.get(id, Date.now()) as { reason: EndReason } | undefined;
      return row?.reason ?? null;
    },
    async createSso(sso) {
      q.createSso.run(sso);
    },
    async getSso(id) {
      const row = q.getSso.get(id, Date.now()) as
        | {
            id: string;
            user_id: string;
            jkt: string | null;
            ip_address: string | null;
            expires_at_ms: number;
          }
        | undefined;
      return row
        ? {
            id: row.id,
            userId: row.user_id,
            jkt: row.jkt,
            ipAddress: row.ip_address,
            expiresAtMs: row.expires_at_ms,
          }
        : null;
    },
    async bindSso(id, jkt) {
      const row = q.bindSso.get({ id, jkt, nowMs: Date.now() }) as { jkt: string } | undefined;
      return row?.jkt ?? null;
    },
    async deleteSso(id) {
      q.deleteSso.run(id);
    },
    async putPending(p) {
      q.putPending.run(p);
    },
    async getPending(id) {
      const row = q.getPending.get(id) as PendingRow | undefined;
      if (!row) return null;
      return {
        id: row.id,
        userId: row.user_id,
        jkt: row.jkt,
        code: row.code,
        ipAddress: row.ip_address,
        expiresAtMs: row.expires_at_ms,
        resends: row.resends,
      } satisfies PendingSignIn;
    },
    async deletePending(id) {
      q.deletePending.run(id);
    },
    async addFailure(keys, windowMs, nowMs) {
      return addFailures(keys, windowMs, nowMs);
    },
    async failures(keys, nowMs) {
      return keys.map(
        (key) => (q.getFailure.get(key, nowMs) as { count: number } | undefined)?.count ?? 0,
      );
    },
    async clearFailures(keys) {
      for (const key of keys) q.clearFailure.run(key);
    },
    async send(m) {
      q.send.run(m.id, m.userId, m.at, JSON.stringify(m));
    },
    async inbox(userId) {
      return (q.inbox.all(userId) as { json: string }[]).map((r) => JSON.parse(r.json) as Message);
    },
    async getSettings(userId) {
      const row = q.getSettings.get(userId) as { json: string } | undefined;
      return { ...DEFAULT_SETTINGS, ...(row ? JSON.parse(row.json) : {}) };
    },
    async putSettings(userId, settings) {
      q.putSettings.run(userId, JSON.stringify(settings));
    },
    async audit(entry) {
      q.audit.run(entry.id, entry.at, JSON.stringify(entry));
    },
    async auditLog(limit) {
      return (q.auditLog.all(limit) as { json: string }[]).map((r) => JSON.parse(r.json));
    },
    async sweep(nowMs) {
      q.sweepSessions.run(nowMs);
      q.sweepEnded.run(nowMs);
      q.sweepPending.run(nowMs);
      q.sweepFailures.run(nowMs);
      q.sweepSso.run(nowMs);
    },
  };
}
