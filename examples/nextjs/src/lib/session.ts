// Device checks for server components and server actions. Neither sees a proof (a page load or
// Next's own action POST), so they check what they can: the session's device is still
// registered and not blocked. What must resist a stolen cookie goes through a route handler.
import { cookies } from "next/headers";
import { app, type Session } from "./server";

export type SessionDevice =
  | { state: "signed-out" }
  | { state: "blocked"; session: Session }
  | { state: "active"; session: Session; deviceId: string };

export async function sessionDevice(): Promise<SessionDevice> {
  const { binding, sessions } = app();
  const session = sessions.get((await cookies()).get("sid")?.value);
  if (!session) return { state: "signed-out" };
  const device = (await binding.list(session.userId)).find((d) => d.jkt === session.jkt);
  if (!device) return { state: "signed-out" }; // deleted: the session ends with it
  if (device.status === "blocked") return { state: "blocked", session };
  return { state: "active", session, deviceId: device.id };
}
