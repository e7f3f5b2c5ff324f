// Sign-in, step 2 for a new device: the one-time code, from the same key as step 1.
import { AppError, app, body, errorResponse, sessionCookie } from "@/lib/server";

export async function POST(request: Request): Promise<Response> {
  const { binding, glue, sessions, pending } = app();
  try {
    const proof = await glue.verify(request);
    const { pendingId, code } = await body(request);
    const entry = pending.take(pendingId);
    if (!entry || entry.jkt !== proof.jkt || entry.code !== String(code ?? "").trim()) {
      throw new AppError(400, "wrong_code", "That code is not right, or the sign-in expired.");
    }
    const { newDeviceDetected } = await binding.register(entry.userId, proof);
    const response = Response.json({ status: "signed-in", newDevice: newDeviceDetected });
    response.headers.set("Set-Cookie", sessionCookie(sessions.start(entry.userId, proof.jkt)));
    return response;
  } catch (error) {
    return errorResponse(request, error);
  }
}
