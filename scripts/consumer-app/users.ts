// The application's own user functions that the README snippets import from "./users.js".
export interface User {
  id: string;
  email: string;
}

export async function checkPassword(body: unknown): Promise<User> {
  const { email, password } = (body ?? {}) as { email?: unknown; password?: unknown };
  if (typeof email !== "string" || password !== "correct horse") throw new Error("Wrong password");
  return { id: email, email };
}

export async function sendNewSignInEmail(user: User, deviceName: string): Promise<void> {
  console.log(`to ${user.email}: new sign-in from ${deviceName}`);
}
