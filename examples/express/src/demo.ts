// The demo's flows, framework-neutral: sign-in with a one-time code for new devices, sessions bound
// to a device key, device management and the security messages. Express (app.ts) and the Hono
// fleet call these and only translate requests and responses.
import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import {
  type ChallengeContext,
  createDeviceBinding,
  type Device,
  type DeviceBindingOptions,
  type DeviceEvent,
  deviceNameFromUserAgent,
  type Tier,
  type VerifiedProof,
} from "@devicebound/server";
import type { BoundGuardResult, DeviceSession } from "@devicebound/server/express";
import type {
  AuditEntry,
  DemoState,
  EndReason,
  Message,
  SessionRecord,
  SsoSession,
  UserSettings,
} from "./demo-state.js";
import { TRANSFER_ACTION, transferData } from "./transfer.js";
import { ADMIN_ID, checkPassword, USERS } from "./users.js";

export const CODE_TTL_MS = 5 * 60_000;
/** An SSO sign-in must be bound to this browser's key this soon after the redirect. */
export const SSO_TTL_MS = 5 * 60_000;
export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** Wrong codes allowed per user and, separately, per device key, in one window. */
export const MAX_CODE_FAILURES = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const MAX_RESENDS = 3;
export const SWEEP_EVERY_MS = 60_000;
const COOKIE = "sid";
/** The cookie of a sign-in that came back from the identity provider and has no device yet. */
const SSO_COOKIE = "sso";

/** The headers every page and API answer carries: no inline script or style, no framing. */
export const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};

/** A refusal the client shows as it is: `code` is stable, `details` go into the JSON body. */
export class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
  toJSON() {
    return { error: this.code, message: this.message, ...this.details };
  }
}

/**
 * What a route answers: a JSON body and, when the session changes, a Set-Cookie value (and at
 * sign-in the headers that offer a hardware-bound session).
 */
export interface Reply {
  body: unknown;
  setCookie?: string | string[];
  headers?: Record<string, string>;
}

export interface DemoOptions {
  /** Everything but `onEvent` and the device limit, which the demo sets. */
  binding: Omit<DeviceBindingOptions, "onEvent" | "maxDevicesPerUser" | "onDeviceLimit">;
  state: DemoState;
  /** Session cookie signing key. */
  secret: string;
  /** Adds `Secure` to the cookie (HTTPS origins). */
  secureCookies: boolean;
  now?: () => number;
}

type Body = Record<string, unknown> | undefined;

/** Node reports IPv4 clients on dual-stack sockets as `::ffff:a.b.c.d`. */
const showIp = (ip: string | null | undefined) => (ip ? ip.replace(/^::ffff:/, "") : "unknown");
const userName = (userId: string) => USERS.find((u) => u.id === userId)?.name ?? userId;
const keyId = (jkt: string) => jkt.slice(0, 8);

export function deviceJSON(device: Device, currentId: string, hardwareBound = false) {
  return {
    id: device.id,
    displayName: device.displayName,
    status: device.status,
    createdAt: device.createdAt.toISOString(),
    lastSeenAt: device.lastSeenAt.toISOString(),
    signedInFrom: showIp(device.metadata.signedInFrom as string | undefined),
    blockedByAdmin: device.status === "blocked" && device.metadata.blockedBy === "admin",
    keyId: keyId(device.jkt),
    current: device.id === currentId,
    /** Holds a live hardware-bound session (DBSC): its cookie is refreshed by a hardware key. */
    hardwareBound,
  };
}

export type DeviceJSON = ReturnType<typeof deviceJSON>;

function newSignInMessage(device: Device, at: Date): Message {
  return {
    id: randomUUID(),
    userId: device.userId,
    at: at.toISOString(),
    subject: `New sign-in from ${device.displayName}`,
    paragraphs: [
      `Hi ${userName(device.userId)},`,
      "we noticed a new sign-in to your account, on a device it had not been used on before.",
      "If this was you, there is nothing to do.",
      "If it was not you, block that device now: it is signed out at once and cannot sign in again. Then change your password.",
    ],
    details: [
      ["Device", `${device.displayName} (key ${keyId(device.jkt)})`],
      ["When", at.toUTCString()],
      ["IP address", showIp(device.metadata.signedInFrom as string | undefined)],
    ],
    action: { label: "Not you? Block this device", href: `/devices?block=${device.id}` },
  };
}

function evictedMessage(device: Device, at: Date): Message {
  return {
    id: randomUUID(),
    userId: device.userId,
    at: at.toISOString(),
    subject: `${device.displayName} was removed from your account`,
    paragraphs: [
      `Hi ${userName(device.userId)},`,
      `your setting "One device at a time" is on, so signing in on a new device removed ${device.displayName} and signed it out.`,
      "To use it again, sign in on it: it will need a one-time code, and the device you use now will be removed in turn.",
    ],
    details: [
      ["Removed device", `${device.displayName} (key ${keyId(device.jkt)})`],
      ["Added", device.createdAt.toUTCString()],
      ["Last active", device.lastSeenAt.toUTCString()],
      ["Removed", at.toUTCString()],
    ],
    action: { label: "Review your devices", href: "/devices" },
  };
}

const EXPIRED = "This sign-in expired. Start over to get a new code.";
const UNKNOWN_DEVICE =
  "This account accepts sign-ins only from its registered devices, and this browser is not one of them. Sign in on one of your devices to turn that setting off.";

function adminMessage(device: Device, action: "block" | "unblock" | "delete", at: Date): Message {
  const did = { block: "blocked", unblock: "unblocked", delete: "deleted" }[action];
  return {
    id: randomUUID(),
    userId: device.userId,
    at: at.toISOString(),
    subject: `An administrator ${did} ${device.displayName}`,
    paragraphs: [
      `Hi ${userName(device.userId)},`,
      `an administrator of this service ${did} one of your devices.`,
      action === "unblock"
        ? "It can sign in again."
        : "It is signed out and cannot sign in again as it was. If you did not expect this, contact your administrator.",
    ],
    details: [
      ["Device", `${device.displayName} (key ${keyId(device.jkt)})`],
      ["When", at.toUTCString()],
    ],
    action: { label: "Review your devices", href: "/devices" },
  };
}

export function createDemo(options: DemoOptions) {
  const { state } = options;
  const now = options.now ?? Date.now;

  // Blocks and deletes end sessions in their routes, awaited; evictions happen inside register.
  async function onEvent(event: DeviceEvent): Promise<void> {
    try {
      if (event.type === "newDevice")
        await state.send(newSignInMessage(event.device, new Date(now())));
      if (event.type === "deleted" && event.reason === "evicted") {
        await endDeviceSessions(event.device.userId, event.device.id, "device-evicted");
        await state.send(evictedMessage(event.device, new Date(now())));
      }
    } catch (error) {
      // The registry swallows handler errors so a request never fails on them: log them here.
      console.error(`handling the ${event.type} event failed`, error);
    }
  }
  const bindingOptions = { ...options.binding, onEvent };
  const binding = createDeviceBinding(bindingOptions);
  // "One device at a time": with a limit of 1, registering a device removes every other active
  // one (the store evicts the least recently seen); blocked devices stay, and stay blocked.
  const singleDevice = createDeviceBinding({
    ...bindingOptions,
    maxDevicesPerUser: 1,
    onDeviceLimit: "remove-least-recently-seen",
  });

  /** Ends a device's sessions, and its hardware-bound ones (their next refresh is refused). */
  async function endDeviceSessions(userId: string, deviceId: string, reason: EndReason) {
    await state.endDeviceSessions(userId, deviceId, reason);
    await binding.dbsc.endDeviceSessions(userId, deviceId, reason);
  }
  const clearDbsc = binding.dbsc.enabled ? [binding.dbsc.clearCookie()] : [];

  const sign = (id: string) =>
    createHmac("sha256", options.secret).update(`session:${id}`).digest("base64url");
  const flags = `Path=/; HttpOnly; SameSite=Lax${options.secureCookies ? "; Secure" : ""}`;
  const clearCookie = `${COOKIE}=; Max-Age=0; ${flags}`;
  const clearSso = `${SSO_COOKIE}=; Max-Age=0; ${flags}`;

  function sessionId(cookieHeader: string | null | undefined, name = COOKIE): string | null {
    const raw = (cookieHeader ?? "")
      .split(/;\s*/)
      .find((c) => c.startsWith(`${name}=`))
      ?.slice(name.length + 1);
    const [id, mac] = (raw ?? "").split(".");
    if (!id || !mac) return null;
    const expected = Buffer.from(sign(id));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given) ? id : null;
  }

  /**
   * The session for a device that just signed in. Where DBSC is on, the answer also offers a
   * hardware-bound session: a browser that has DBSC registers a key for it; others ignore it.
   */
  async function startSession(
    userId: string,
    device: Device,
    proof: VerifiedProof,
  ): Promise<Pick<Reply, "setCookie" | "headers">> {
    const id = randomBytes(18).toString("base64url");
    const at = now();
    const dbsc = await binding.dbsc.startSession(
      { userId, device },
      { ipAddress: proof.ipAddress, userAgent: proof.userAgent },
    );
    await state.createSession({
      id,
      userId,
      jkt: proof.jkt,
      deviceId: device.id,
      dbscSessionId: dbsc.sessionId,
      ipAddress: proof.ipAddress,
      createdAtMs: at,
      expiresAtMs: at + SESSION_TTL_MS,
    });
    return {
      setCookie: `${COOKIE}=${id}.${sign(id)}; Max-Age=${SESSION_TTL_MS / 1000}; ${flags}`,
      headers: dbsc.headers,
    };
  }

  /**
   * The second step for a device this account has not confirmed yet: a pending sign-in with a
   * one-time code, from the password form or after an SSO redirect.
   */
  async function codeStep(userId: string, proof: VerifiedProof): Promise<Reply> {
    // A fresh sign-in does not bring fresh guesses: the counters are per user and per key.
    const left = await attemptsLeft(userId, proof.jkt);
    if (left <= 0) throw lockedOut();
    const pending = {
      id: randomUUID(),
      userId,
      jkt: proof.jkt,
      code: newCode(),
      ipAddress: proof.ipAddress,
      expiresAtMs: now() + CODE_TTL_MS,
      resends: 0,
    };
    await state.putPending(pending);
    return {
      // A real app sends the code by mail or SMS; the demo shows it on screen.
      body: {
        status: "code-required",
        pendingId: pending.id,
        demoCode: pending.code,
        attemptsLeft: left,
        resendsLeft: MAX_RESENDS,
        expiresAt: new Date(pending.expiresAtMs).toISOString(),
      },
    };
  }

  const failureKeys = (userId: string, jkt: string) => [`user:${userId}`, `key:${jkt}`];
  const requireAdmin = (session: SessionRecord) => {
    if (session.userId !== ADMIN_ID)
      throw new AppError(403, "not_admin", "Only the administrator can do that.");
  };
  const lockedOut = () =>
    new AppError(
      429,
      "too_many_attempts",
      `Too many wrong codes for this account or this browser. Try again in ${FAILURE_WINDOW_MS / 60_000} minutes.`,
      { retryAfterSeconds: FAILURE_WINDOW_MS / 1000 },
    );
  async function attemptsLeft(userId: string, jkt: string) {
    const counts = await state.failures(failureKeys(userId, jkt), now());
    return MAX_CODE_FAILURES - Math.max(...counts);
  }

  /** The pending sign-in, checked to be current and to belong to this device key. */
  async function pendingFor(proof: VerifiedProof, body: Body) {
    const id = body?.pendingId;
    const entry = typeof id === "string" ? await state.getPending(id) : null;
    if (!entry || entry.expiresAtMs < now()) {
      if (entry) await state.deletePending(entry.id);
      throw new AppError(400, "sign_in_expired", EXPIRED);
    }
    if (entry.jkt !== proof.jkt)
      throw new AppError(
        400,
        "sign_in_expired",
        "This sign-in belongs to another browser. Start over here.",
      );
    return entry;
  }

  const newCode = () => String(randomInt(0, 1_000_000)).padStart(6, "0");

  /** Devices get distinct names: a second "Chrome on Linux" becomes "Chrome on Linux (2)". */
  async function uniqueName(userId: string, userAgent: string | null, except?: string) {
    const base = deviceNameFromUserAgent(userAgent);
    const taken = new Set(
      (await binding.list(userId)).filter((d) => d.id !== except).map((d) => d.displayName),
    );
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base} (${n})`;
      if (!taken.has(name)) return name;
    }
  }

  return {
    binding,
    sessionId,
    clearCookie,

    /** The live session named by the cookie, or a 401 that says why there is none. */
    async authenticate(cookieHeader: string | null | undefined): Promise<SessionRecord> {
      const id = sessionId(cookieHeader);
      const session = id ? await state.getSession(id) : null;
      if (session && session.expiresAtMs > now()) return session;
      const reason = id ? await state.endedReason(id) : null;
      if (reason) throw new AppError(401, "signed_out", "This session has ended.", { reason });
      throw new AppError(401, "not_signed_in", "Sign in first.");
    },

    /**
     * After the device guard: the key may have been deleted and registered again, which makes a
     * new device record. The old session stays ended.
     */
    async checkDevice(session: SessionRecord, device: Device): Promise<void> {
      if (device.id === session.deviceId) return;
      await state.endSession(session.id, "device-replaced");
      await binding.dbsc.endSession(session.dbscSessionId, "device-replaced");
      throw new AppError(401, "signed_out", "This session has ended.", {
        reason: "device-replaced" satisfies EndReason,
      });
    },

    /**
     * "Welcome back": whether this browser's key is an active device of the user the page
     * remembers. Answers for that one user only: which other accounts used this browser stays
     * private (recognize() would tell).
     */
    async recognize(proof: VerifiedProof, body: Body): Promise<Reply> {
      const userId = typeof body?.userId === "string" ? body.userId : "";
      const match = (await binding.recognize(proof)).some((d) => d.userId === userId);
      return {
        body: match ? { recognized: true, userId, name: userName(userId) } : { recognized: false },
      };
    },

    /** Step 1: the password, with a proof from the device key. */
    async login(proof: VerifiedProof, body: Body): Promise<Reply> {
      // "Only my registered devices": an unknown browser is refused before the password is
      // even looked at (so guessing it from here gets nowhere).
      const named = USERS.find(
        (u) =>
          u.id ===
          String(body?.username ?? "")
            .trim()
            .toLowerCase(),
      );
      if (named && (await state.getSettings(named.id)).knownDevicesOnly) {
        const known = await binding.isKnown(named.id, proof);
        if (known.status !== "active" || known.device.metadata.awaitingCode)
          throw new AppError(403, "unknown_device", UNKNOWN_DEVICE);
      }
      const user = checkPassword(body?.username, body?.password);
      if (!user) throw new AppError(401, "invalid_credentials", "Unknown user or wrong password.");
      const known = await binding.isKnown(user.id, proof);
      if (known.status === "blocked") {
        throw new AppError(
          403,
          "ERR_DEVICE_BLOCKED",
          "This device is blocked for this account. Unblock it from another of your devices first.",
        );
      }
      if (known.status === "active" && !known.device.metadata.awaitingCode) {
        // Remember-this-device: a known device skips the second step.
        return {
          body: { status: "signed-in", newDevice: false },
          ...(await startSession(user.id, known.device, proof)),
        };
      }
      return codeStep(user.id, proof);
    },

    /**
     * The stand-in identity provider's answer (a real one redirects with a code the app redeems):
     * a session with no device yet, carried by a short-lived cookie and no proof.
     */
    async ssoCallback(body: Body, ipAddress: string | null): Promise<Reply> {
      const user = checkPassword(body?.username, body?.password);
      if (!user) throw new AppError(401, "invalid_credentials", "Unknown user or wrong password.");
      const sso: SsoSession = {
        id: randomBytes(18).toString("base64url"),
        userId: user.id,
        jkt: null,
        ipAddress,
        expiresAtMs: now() + SSO_TTL_MS,
      };
      await state.createSso(sso);
      return {
        body: null,
        setCookie: `${SSO_COOKIE}=${sso.id}.${sign(sso.id)}; Max-Age=${SSO_TTL_MS / 1000}; ${flags}`,
      };
    },

    /** The SSO session the cookie names, as the device guard sees it (no `jkt` until bound). */
    async ssoSession(cookieHeader: string | null | undefined): Promise<DeviceSession & SsoSession> {
      const id = sessionId(cookieHeader, SSO_COOKIE);
      const sso = id ? await state.getSso(id) : null;
      if (!sso)
        throw new AppError(
          401,
          "sso_expired",
          "This sign-in expired. Sign in with the provider again.",
        );
      return sso;
    },

    /** The SSO session's compare-and-set, for the guard's `bindSession`. */
    bindSso: (id: string, jkt: string) => state.bindSso(id, jkt),

    /** The binding that registers this user's devices (the one-device policy, when it is on). */
    async bindingFor(userId: string) {
      return (await state.getSettings(userId)).singleDevice ? singleDevice : binding;
    },

    /**
     * After the guard bound the SSO session to this browser's key (and registered the device): a
     * device the account already confirmed gets its session; a new one the code step first.
     */
    async finishSso(sso: SsoSession, result: BoundGuardResult): Promise<Reply> {
      const { proof, device, newDeviceDetected } = result;
      await state.deleteSso(sso.id);
      if (
        (await state.getSettings(sso.userId)).knownDevicesOnly &&
        (newDeviceDetected || device.metadata.awaitingCode)
      ) {
        // The guard registered it on binding; this account takes no new devices.
        if (newDeviceDetected) await binding.delete(sso.userId, device.id);
        throw new AppError(403, "unknown_device", UNKNOWN_DEVICE);
      }
      if (newDeviceDetected) {
        // Registered by the guard, but not confirmed: until the code is right it counts as new.
        await binding.update(sso.userId, device.id, {
          displayName: await uniqueName(sso.userId, proof.userAgent, device.id),
          metadata: { signedInFrom: proof.ipAddress, awaitingCode: true },
        });
      }
      const reply =
        newDeviceDetected || device.metadata.awaitingCode
          ? await codeStep(sso.userId, proof)
          : {
              body: { status: "signed-in", newDevice: false },
              ...(await startSession(sso.userId, device, proof)),
            };
      return { ...reply, setCookie: [clearSso, ...[reply.setCookie ?? []].flat()] };
    },

    /** Step 2, new devices only: the one-time code, from the same device key. */
    async submitCode(proof: VerifiedProof, body: Body): Promise<Reply> {
      const entry = await pendingFor(proof, body);
      const keys = failureKeys(entry.userId, entry.jkt);
      if ((await attemptsLeft(entry.userId, entry.jkt)) <= 0) {
        await state.deletePending(entry.id);
        throw lockedOut();
      }
      const given = Buffer.from(typeof body?.code === "string" ? body.code.trim() : "");
      const expected = Buffer.from(entry.code);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        const left =
          MAX_CODE_FAILURES - Math.max(...(await state.addFailure(keys, FAILURE_WINDOW_MS, now())));
        if (left <= 0) {
          await state.deletePending(entry.id);
          throw lockedOut();
        }
        throw new AppError(
          400,
          "wrong_code",
          `That code is not right. ${left} ${left === 1 ? "attempt" : "attempts"} left.`,
          { attemptsLeft: left },
        );
      }
      await state.deletePending(entry.id);
      await state.clearFailures(keys);
      const policy = (await state.getSettings(entry.userId)).singleDevice ? singleDevice : binding;
      let { device, newDeviceDetected } = await policy.register(entry.userId, proof, {
        displayName: await uniqueName(entry.userId, proof.userAgent),
        metadata: { signedInFrom: proof.ipAddress },
      });
      if (device.metadata.awaitingCode) {
        // Bound after an SSO sign-in and now confirmed by its code.
        device = await binding.update(entry.userId, device.id, {
          metadata: { signedInFrom: device.metadata.signedInFrom ?? proof.ipAddress },
        });
        newDeviceDetected = true;
      }
      return {
        body: { status: "signed-in", newDevice: newDeviceDetected },
        ...(await startSession(entry.userId, device, proof)),
      };
    },

    /** A new code for the same pending sign-in; wrong-code counters carry on. */
    async resendCode(proof: VerifiedProof, body: Body): Promise<Reply> {
      const entry = await pendingFor(proof, body);
      if (entry.resends >= MAX_RESENDS)
        throw new AppError(429, "too_many_resends", "No more codes for this sign-in. Start over.");
      const left = await attemptsLeft(entry.userId, entry.jkt);
      if (left <= 0) throw lockedOut();
      const next = {
        ...entry,
        code: newCode(),
        resends: entry.resends + 1,
        expiresAtMs: now() + CODE_TTL_MS,
      };
      await state.putPending(next);
      return {
        body: {
          demoCode: next.code,
          attemptsLeft: left,
          resendsLeft: MAX_RESENDS - next.resends,
          expiresAt: new Date(next.expiresAtMs).toISOString(),
        },
      };
    },

    /** "Start over": forgets the pending sign-in. */
    async cancelSignIn(proof: VerifiedProof, body: Body): Promise<Reply> {
      const id = body?.pendingId;
      const entry = typeof id === "string" ? await state.getPending(id) : null;
      if (entry && entry.jkt === proof.jkt) await state.deletePending(entry.id);
      return { body: { cancelled: true } };
    },

    /** `tier`: what protects this request, `dbsc` (a hardware-bound session) or `dpop`. */
    async me(session: SessionRecord, device: Device, tier: Tier): Promise<Reply> {
      return {
        body: {
          user: {
            id: session.userId,
            name: userName(session.userId),
            admin: session.userId === ADMIN_ID,
          },
          device: deviceJSON(device, device.id, tier === "dbsc"),
          tier,
          settings: await state.getSettings(session.userId),
        },
      };
    },

    async devices(session: SessionRecord, device: Device): Promise<Reply> {
      const all = await binding.list(session.userId);
      const bound = await Promise.all(
        all.map(async (d) =>
          (await binding.dbsc.listSessions(session.userId, d.id)).some(
            (s) => s.status === "active",
          ),
        ),
      );
      const devices = all
        .map((d, i) => deviceJSON(d, device.id, bound[i]))
        // This device first, then the most recently active.
        .sort(
          (a, b) =>
            Number(b.current) - Number(a.current) || b.lastSeenAt.localeCompare(a.lastSeenAt),
        );
      return { body: { devices } };
    },

    async rename(session: SessionRecord, device: Device, id: string, body: Body): Promise<Reply> {
      const updated = await binding.update(session.userId, id, {
        displayName: body?.displayName as string,
      });
      return { body: { device: deviceJSON(updated, device.id) } };
    },

    /** Blocking ends the device's sessions: unblocking later does not bring them back. */
    async block(session: SessionRecord, device: Device, id: string): Promise<Reply> {
      const blocked = await binding.block(session.userId, id);
      await endDeviceSessions(session.userId, id, "device-blocked");
      const signedOut = id === device.id;
      return {
        body: { device: deviceJSON(blocked, device.id), signedOut },
        ...(signedOut ? { setCookie: [clearCookie, ...clearDbsc] } : {}),
      };
    },

    async unblock(session: SessionRecord, device: Device, id: string): Promise<Reply> {
      return { body: { device: deviceJSON(await binding.unblock(session.userId, id), device.id) } };
    },

    async remove(session: SessionRecord, device: Device, id: string): Promise<Reply> {
      await binding.delete(session.userId, id);
      await endDeviceSessions(session.userId, id, "device-deleted");
      // Deleting this very device signs it out; its next sign-in is a new device.
      const signedOut = id === device.id;
      return {
        body: { deleted: true, signedOut },
        ...(signedOut ? { setCookie: [clearCookie, ...clearDbsc] } : {}),
      };
    },

    async inbox(session: SessionRecord): Promise<Reply> {
      return { body: { messages: await state.inbox(session.userId) } };
    },

    /** Saves the settings given (`singleDevice`, `knownDevicesOnly`); others stay as they are. */
    async saveSettings(session: SessionRecord, body: Body): Promise<Reply> {
      const settings: UserSettings = { ...(await state.getSettings(session.userId)) };
      for (const name of ["singleDevice", "knownDevicesOnly"] as const) {
        const value = body?.[name];
        if (value === undefined) continue;
        if (typeof value !== "boolean")
          throw new AppError(400, "invalid_input", `${name} must be true or false.`);
        settings[name] = value;
      }
      await state.putSettings(session.userId, settings);
      return { body: { settings } };
    },

    /**
     * A money transfer, the demo's high-risk action: it needs an action token from this device,
     * signed over exactly this payee and amount, used once.
     */
    async transfer(
      session: SessionRecord,
      device: Device,
      body: Body,
      context: ChallengeContext,
    ): Promise<Reply> {
      const to = body?.to;
      const amount = body?.amount;
      if (typeof to !== "string" || !USERS.some((u) => u.id === to) || to === session.userId)
        throw new AppError(400, "invalid_input", "Choose another demo user to send money to.");
      if (!Number.isInteger(amount) || (amount as number) < 1 || (amount as number) > 1_000_000)
        throw new AppError(
          400,
          "invalid_input",
          "The amount is a whole number from 1 to 1,000,000.",
        );
      if (typeof body?.token !== "string")
        throw new AppError(400, "invalid_input", "The transfer needs an action token.");
      const data = transferData(to, amount as number);
      const verified = await binding.verifyAction(body.token, {
        action: TRANSFER_ACTION,
        userId: session.userId,
        data,
        // The challenge inside the token was bound to this client's IP and User-Agent.
        ...context,
      });
      // The token must come from the device this session runs on, not another of the user's.
      if (verified.device.id !== device.id)
        throw new AppError(403, "other_device", "The token was signed by another of your devices.");
      return {
        body: {
          sent: { to: userName(to), amount },
          signed: {
            action: TRANSFER_ACTION,
            data,
            device: verified.device.displayName,
            keyId: keyId(verified.jkt),
            expiresAt: new Date((verified.claims.exp as number) * 1000).toISOString(),
          },
        },
      };
    },

    /** Every user's devices for the administrator, a page at a time, with per-user counts. */
    async adminDevices(session: SessionRecord, query: Record<string, unknown>): Promise<Reply> {
      requireAdmin(session);
      const status =
        query.status === "active" || query.status === "blocked" ? query.status : undefined;
      const text =
        typeof query.query === "string" && query.query.trim() ? query.query.trim() : undefined;
      const cursor = typeof query.cursor === "string" && query.cursor ? query.cursor : undefined;
      const limit = Math.min(
        50,
        Math.max(1, Number.parseInt(String(query.limit ?? "10"), 10) || 10),
      );
      const page = await binding.listAll({
        limit,
        ...(status ? { status } : {}),
        ...(text ? { query: text } : {}),
        ...(cursor ? { cursor } : {}),
      });
      const users = [...new Set(page.devices.map((d) => d.userId))];
      const counts = Object.fromEntries(
        await Promise.all(users.map(async (u) => [u, await binding.count(u)] as const)),
      );
      return {
        body: {
          devices: page.devices.map((d) => ({
            ...deviceJSON(d, ""),
            userId: d.userId,
            userName: userName(d.userId),
            userDevices: counts[d.userId],
          })),
          nextCursor: page.nextCursor ?? null,
        },
      };
    },

    /** Block, unblock or delete any user's device; ends its sessions, tells its owner, audits it. */
    async adminAct(
      session: SessionRecord,
      userId: string,
      deviceId: string,
      action: AuditEntry["action"],
    ): Promise<Reply> {
      requireAdmin(session);
      const before = await binding.get(userId, deviceId);
      if (!before) throw new AppError(404, "not_found", "No such device.");
      if (action === "delete") {
        await binding.delete(userId, deviceId);
        await endDeviceSessions(userId, deviceId, "device-deleted");
      } else if (action === "block") {
        await binding.block(userId, deviceId);
        await binding.update(userId, deviceId, {
          metadata: { ...before.metadata, blockedBy: "admin" },
        });
        await endDeviceSessions(userId, deviceId, "device-blocked");
      } else {
        const { blockedBy: _, ...metadata } = before.metadata;
        await binding.unblock(userId, deviceId);
        await binding.update(userId, deviceId, { metadata });
      }
      const at = new Date(now());
      await state.send(adminMessage(before, action, at));
      await state.audit({
        id: randomUUID(),
        at: at.toISOString(),
        admin: session.userId,
        action,
        userId,
        deviceId,
        deviceName: before.displayName,
      });
      return { body: { done: action } };
    },

    async auditLog(session: SessionRecord): Promise<Reply> {
      requireAdmin(session);
      return { body: { entries: await state.auditLog(200) } };
    },

    async logout(session: SessionRecord): Promise<Reply> {
      await state.endSession(session.id, "signed-out");
      await binding.dbsc.endSession(session.dbscSessionId, "signed-out");
      return { body: { signedOut: true }, setCookie: [clearCookie, ...clearDbsc] };
    },

    /** Sweeps expired records now and then every minute; returns a stop function. */
    startSweeping(): () => void {
      const sweep = () =>
        void state.sweep(now()).catch((error) => console.error("sweep failed", error));
      sweep();
      const timer = setInterval(sweep, SWEEP_EVERY_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

export type Demo = ReturnType<typeof createDemo>;
