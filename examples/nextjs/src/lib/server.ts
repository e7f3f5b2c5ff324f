// The app's server side, made once per process: the device binding over SQLite, the Fetch
// adapter, and the app's own tables (sessions, pending sign-ins) in the same database file.
import { randomInt, randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createDeviceBinding, isDeviceBindingError } from "@devicebound/server";
import { fetchDeviceBinding } from "@devicebound/server/fetch";
import { sqliteStore } from "@devicebound/store-sqlite";
import Database from "better-sqlite3";

export interface Session {
  id: string;
  userId: string;
  jkt: string;
}

const SESSION_SECONDS = 7 * 24 * 3600;
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank"];

/** The demo's users: `<name>` with password `<name>-demo-pass`. */
export function checkPassword(username: unknown, password: unknown): string | null {
  if (typeof username !== "string" || typeof password !== "string") return null;
  const user = username.trim().toLowerCase();
  return USERS.includes(user) && password === `${user}-demo-pass` ? user : null;
}

function create() {
  const dataDir = process.env.DATA_DIR ?? join(process.cwd(), "data");
  mkdirSync(dataDir, { recursive: true });
  const database = new Database(join(dataDir, "app.db"));
  const store = sqliteStore({ database });
  database.exec(`
    CREATE TABLE IF NOT EXISTS sessions (
      id TEXT PRIMARY KEY, user_id TEXT NOT NULL, jkt TEXT NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS pending (
      id TEXT PRIMARY KEY, user_id TEXT NOT NULL, jkt TEXT NOT NULL, code TEXT NOT NULL,
      expires_at INTEGER NOT NULL);
  `);
  const secret = process.env.DEVICEBOUND_SECRET ?? "example-nextjs-secret-change-me-0123456789";
  const binding = createDeviceBinding({
    secret,
    store,
    publicOrigin: process.env.PUBLIC_ORIGIN ?? "http://localhost:3000",
  });
  // A route handler's Request carries no client address. Behind proxies you run, set TRUST_PROXY
  // to their number and challenges are bound to the client's IP; without one they are not.
  const hops = Number(process.env.TRUST_PROXY ?? 0);
  const glue = fetchDeviceBinding(
    binding,
    hops > 0 ? { trustProxy: hops } : { getIpAddress: false },
  );

  const now = () => Math.floor(Date.now() / 1000);
  const sessions = {
    start(userId: string, jkt: string): string {
      const id = randomUUID();
      database
        .prepare("INSERT INTO sessions (id, user_id, jkt, expires_at) VALUES (?, ?, ?, ?)")
        .run(id, userId, jkt, now() + SESSION_SECONDS);
      return id;
    },
    get(id: string | undefined): Session | null {
      if (!id) return null;
      const row = database
        .prepare("SELECT id, user_id AS userId, jkt FROM sessions WHERE id = ? AND expires_at > ?")
        .get(id, now()) as Session | undefined;
      return row ?? null;
    },
    end(id: string | undefined): void {
      if (id) database.prepare("DELETE FROM sessions WHERE id = ?").run(id);
    },
  };
  const pending = {
    start(userId: string, jkt: string) {
      const id = randomUUID();
      const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
      database
        .prepare("INSERT INTO pending (id, user_id, jkt, code, expires_at) VALUES (?, ?, ?, ?, ?)")
        .run(id, userId, jkt, code, now() + 300);
      return { id, code };
    },
    /** The pending sign-in, removed whatever the answer: one guess per code. */
    take(id: unknown): { userId: string; jkt: string; code: string } | null {
      if (typeof id !== "string") return null;
      const row = database
        .prepare(
          "DELETE FROM pending WHERE id = ? AND expires_at > ? RETURNING user_id AS userId, jkt, code",
        )
        .get(id, now()) as { userId: string; jkt: string; code: string } | undefined;
      return row ?? null;
    },
  };
  return { binding, glue, sessions, pending };
}

type App = ReturnType<typeof create>;
// Route handlers, pages and server actions share one instance per process (and per dev reload).
const cache = globalThis as { devicebound?: App };
export const app = (): App => (cache.devicebound ??= create());

/** The `sid` cookie of a route handler's request. */
export function sessionId(request: Request): string | undefined {
  return /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.get("cookie") ?? "")?.[1];
}

export const sessionCookie = (id: string) =>
  `sid=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_SECONDS}`;
export const clearedCookie = "sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";

/** An app-level failure with its status and a stable code for the page. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The answer to any error a route handler throws. */
export async function errorResponse(request: Request, error: unknown): Promise<Response> {
  if (isDeviceBindingError(error)) return app().glue.errorResponse(request, error);
  if (error instanceof AppError) {
    return Response.json({ error: error.code, message: error.message }, { status: error.status });
  }
  console.error(error);
  return Response.json({ error: "internal", message: "Something went wrong." }, { status: 500 });
}

/** A route handler's JSON body, at most 8 KB. */
export async function body(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > 8192) throw new AppError(413, "payload_too_large", "The body is too large.");
  try {
    const value = JSON.parse(text || "{}");
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    throw new AppError(400, "invalid_json", "The body is not valid JSON.");
  }
}

type Guarded<C> = (
  request: Request,
  device: { session: Session; deviceId: string },
  context: C,
) => Promise<Response>;

/**
 * A protected route handler: the request must carry a proof from the key its session is bound
 * to, still registered and not blocked (the Fetch adapter's guard); failures are answered with the
 * RFC 9449 forms the browser retries on.
 */
export function withDevice<C>(handler: Guarded<C>) {
  return async (request: Request, context: C): Promise<Response> => {
    const { glue, sessions } = app();
    const id = sessionId(request);
    const result = await glue.requireDevice(request, () => sessions.get(id));
    if (!result.ok) return result.response;
    try {
      const session = { id: id as string, userId: result.session.userId, jkt: result.proof.jkt };
      return await handler(request, { session, deviceId: result.device.id }, context);
    } catch (error) {
      return errorResponse(request, error);
    }
  };
}
