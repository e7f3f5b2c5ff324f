// Cookie sessions: an HMAC-signed random id in an HttpOnly, SameSite=Lax cookie, pointing at a
// server-side record that holds the user and the jkt of the key that signed in.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export interface Session {
  userId: string;
  /** Thumbprint of the device key that signed in: every request must prove it. */
  jkt: string;
  createdAt: number;
}

const COOKIE = "sid";
const MAX_AGE_SECONDS = 7 * 24 * 3600;

export function createSessions(secret: string, secure: boolean) {
  const sessions = new Map<string, Session>();
  const sign = (id: string) =>
    createHmac("sha256", secret).update(`session:${id}`).digest("base64url");

  function idFrom(req: IncomingMessage): string | null {
    const cookie = req.headers.cookie ?? "";
    const raw = cookie
      .split(/;\s*/)
      .find((c) => c.startsWith(`${COOKIE}=`))
      ?.slice(COOKIE.length + 1);
    if (!raw) return null;
    const [id, mac] = raw.split(".");
    if (!id || !mac) return null;
    const expected = Buffer.from(sign(id));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given) ? id : null;
  }

  const flags = `Path=/; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
  return {
    get(req: IncomingMessage): Session | null {
      const id = idFrom(req);
      return id ? (sessions.get(id) ?? null) : null;
    },
    start(res: ServerResponse, userId: string, jkt: string): void {
      const id = randomBytes(18).toString("base64url");
      sessions.set(id, { userId, jkt, createdAt: Date.now() });
      res.setHeader(
        "Set-Cookie",
        `${COOKIE}=${id}.${sign(id)}; Max-Age=${MAX_AGE_SECONDS}; ${flags}`,
      );
    },
    end(req: IncomingMessage, res: ServerResponse): void {
      const id = idFrom(req);
      if (id) sessions.delete(id);
      res.setHeader("Set-Cookie", `${COOKIE}=; Max-Age=0; ${flags}`);
    },
    /** Ends every session of a device (it was deleted or evicted). */
    endDevice(userId: string, jkt: string): void {
      for (const [id, s] of sessions) if (s.userId === userId && s.jkt === jkt) sessions.delete(id);
    },
  };
}
