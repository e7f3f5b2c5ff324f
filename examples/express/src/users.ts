// The demo's seeded users. A real app has its own user store and password hashing.
import { timingSafeEqual } from "node:crypto";

export interface DemoUser {
  id: string;
  name: string;
  password: string;
}

export const USERS: readonly DemoUser[] = ["alice", "bob", "carol", "dave", "erin", "frank"].map(
  (id) => ({
    id,
    name: id[0]?.toUpperCase() + id.slice(1),
    password: `${id}-demo-pass`,
  }),
);

/** The user with these credentials, or null. Compares the password in constant time. */
export function checkPassword(username: unknown, password: unknown): DemoUser | null {
  if (typeof username !== "string" || typeof password !== "string") return null;
  const user = USERS.find((u) => u.id === username.trim().toLowerCase());
  if (!user) return null;
  const a = Buffer.from(password);
  const b = Buffer.from(user.password);
  return a.length === b.length && timingSafeEqual(a, b) ? user : null;
}
