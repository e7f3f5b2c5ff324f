// Sign-in, step 1: the password, with a proof from this browser's key (single-use challenge).
// A known device gets a session at once; a new one gets a one-time code first.
import { AppError, app, body, checkPassword, errorResponse, sessionCookie } from "@/lib/server";

export async function POST(request: Request): Promise<Response> {
  const { binding, glue, sessions, pending } = app();
  try {
    const proof = await glue.verify(request, { singleUseChallenge: true });
    const { username, password } = await body(request);
    const userId = checkPassword(username, password);
    if (!userId) throw new AppError(401, "invalid_credentials", "Unknown user or wrong password.");
    const known = await binding.isKnown(userId, proof);
    if (known.status === "blocked") {
      throw new AppError(403, "ERR_DEVICE_BLOCKED", "This device is blocked for this account.");
    }
    if (known.status === "active") {
      const response = Response.json({ status: "signed-in", newDevice: false });
      response.headers.set("Set-Cookie", sessionCookie(sessions.start(userId, proof.jkt)));
      return glue.withNonce(request, response);
    }
    const { id, code } = pending.start(userId, proof.jkt);
    // A real app sends the code by email or SMS; the demo shows it.
    return glue.withNonce(
      request,
      Response.json({ status: "code-required", pendingId: id, demoCode: code }),
    );
  } catch (error) {
    return errorResponse(request, error);
  }
}
