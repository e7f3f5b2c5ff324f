// What the demo keeps besides devices: sessions, pending sign-ins, wrong-code counters, the
// outbox and settings. SQLite implements it here (sqlite-state.ts), Redis in the fleet example.

/** Why a session ended; the sign-in page tells the user. */
export type EndReason =
  | "signed-out"
  | "device-deleted"
  | "device-evicted"
  | "device-blocked"
  | "device-replaced";

export interface SessionRecord {
  id: string;
  userId: string;
  /** Thumbprint of the device key that signed in: every request must prove it. */
  jkt: string;
  /** The device record signed in with: a deleted and re-registered key is a new device. */
  deviceId: string;
  /**
   * The hardware-bound session (DBSC) offered at sign-in, `null` where DBSC is off. The guard
   * reads it: once the browser registered a key for it, a request without its fresh bound
   * cookie is a copied session and is refused.
   */
  dbscSessionId?: string | null;
  ipAddress: string | null;
  createdAtMs: number;
  expiresAtMs: number;
}

/** A sign-in that passed the password and waits for the one-time code. */
export interface PendingSignIn {
  id: string;
  userId: string;
  jkt: string;
  code: string;
  ipAddress: string | null;
  expiresAtMs: number;
  resends: number;
}

/**
 * A sign-in that came back from the identity provider (SSO) with no proof: a session without a
 * device yet, good for one binding request within a few minutes.
 */
export interface SsoSession {
  id: string;
  userId: string;
  /** The key it was bound to, or `null` until its first request with a proof. */
  jkt: string | null;
  ipAddress: string | null;
  expiresAtMs: number;
}

export interface Message {
  id: string;
  userId: string;
  /** ISO 8601. */
  at: string;
  subject: string;
  /** Paragraphs of plain text. */
  paragraphs: string[];
  /** Label/value pairs shown as a table (device, time, IP address). */
  details: [string, string][];
  action: { label: string; href: string } | null;
}

export interface UserSettings {
  /** Registering a new device removes all others (maxDevicesPerUser 1). */
  singleDevice: boolean;
  /** Only the account's registered devices may sign in: others are refused before the password. */
  knownDevicesOnly: boolean;
}

export const DEFAULT_SETTINGS: UserSettings = { singleDevice: false, knownDevicesOnly: false };

/** One administrator action, for the audit log. */
export interface AuditEntry {
  id: string;
  /** ISO 8601. */
  at: string;
  /** The administrator's user id. */
  admin: string;
  action: "block" | "unblock" | "delete";
  userId: string;
  deviceId: string;
  deviceName: string;
}

export interface DemoState {
  createSession(session: SessionRecord): Promise<void>;
  /** A live session, or `null` (unknown, expired or ended). */
  getSession(id: string): Promise<SessionRecord | null>;
  /**
   * Deletes the session. Only its id and `reason` are kept, until it would have expired, so the
   * sign-in page can say why it ended.
   */
  endSession(id: string, reason: EndReason): Promise<void>;
  /** Ends every session of one device. */
  endDeviceSessions(userId: string, deviceId: string, reason: EndReason): Promise<void>;
  /** Why the session with this id ended, or `null`. */
  endedReason(id: string): Promise<EndReason | null>;

  createSso(sso: SsoSession): Promise<void>;
  /** A live SSO session, or `null`. */
  getSso(id: string): Promise<SsoSession | null>;
  /**
   * Compare-and-set: binds the SSO session to `jkt` only if it has no key yet, atomically (two
   * tabs or two servers may race), and resolves the key it is bound to afterwards (`null` when the
   * session is gone).
   */
  bindSso(id: string, jkt: string): Promise<string | null>;
  deleteSso(id: string): Promise<void>;

  putPending(pending: PendingSignIn): Promise<void>;
  getPending(id: string): Promise<PendingSignIn | null>;
  deletePending(id: string): Promise<void>;

  /**
   * Counts one wrong code against each key (a user, a device key) in a window that starts at
   * its first failure; resolves the counts after adding.
   */
  addFailure(keys: string[], windowMs: number, nowMs: number): Promise<number[]>;
  /** Current counts (0 for a key whose window ended). */
  failures(keys: string[], nowMs: number): Promise<number[]>;
  clearFailures(keys: string[]): Promise<void>;

  send(message: Message): Promise<void>;
  /** The user's messages, newest first. */
  inbox(userId: string): Promise<Message[]>;

  getSettings(userId: string): Promise<UserSettings>;
  putSettings(userId: string, settings: UserSettings): Promise<void>;

  audit(entry: AuditEntry): Promise<void>;
  /** The audit log, newest first. */
  auditLog(limit: number): Promise<AuditEntry[]>;

  /** Deletes expired sessions, pending sign-ins and counters. */
  sweep(nowMs: number): Promise<void>;
}
