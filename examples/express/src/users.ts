// The demo's seeded users. A real app has its own user store and password hashing.
import { timingSafeEqual } from "node:crypto";

export interface DemoUser {
  id: string;
  name: string;
  password: string;
}

/** Enough accounts that every end-to-end test has its own (wrong-code lockouts are per user). */
export const USER_IDS = [
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
  "ivan",
  "judy",
  "mallory",
  "niaj",
  "olivia",
  "peggy",
  "rupert",
  "sybil",
  "trent",
  "victor",
  "walter",
  "xavier",
  "yolanda",
] as const;

export const USERS: readonly DemoUser[] = [...USER_IDS, "admin"].map((id) => ({
  id,
  name: id[0]?.toUpperCase() + id.slice(1),
  password: `${id}-demo-pass`,
}));

/** The user with these credentials, or null. Compares the password in constant time. */
export function checkPassword(username: unknown, password: unknown): DemoUser | null {
  if (typeof username !== "string" || typeof password !== "string") return null;
  const user = USERS.find((u) => u.id === username.trim().toLowerCase());
  if (!user) return null;
  const a = Buffer.from(password);
  const b = Buffer.from(user.password);
  return a.length === b.length && timingSafeEqual(a, b) ? user : null;
}

/** The demo's administrator: sees every user's devices and can block or delete them. */
export const ADMIN_ID = "admin";
