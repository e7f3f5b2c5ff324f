import { AppError, app, body, clearedCookie, withDevice } from "@/lib/server";

type Context = { params: Promise<{ id: string }> };

export const PATCH = withDevice<Context>(async (request, { session }, { params }) => {
  const { displayName } = await body(request);
  if (typeof displayName !== "string") {
    throw new AppError(400, "invalid_input", "displayName must be a string.");
  }
  const device = await app().binding.update(session.userId, (await params).id, { displayName });
  return Response.json({ device });
});

export const DELETE = withDevice<Context>(async (_request, { session, deviceId }, { params }) => {
  const { id } = await params;
  await app().binding.delete(session.userId, id);
  // Deleting this browser's own device signs it out.
  if (id !== deviceId) return Response.json({ deleted: true, signedOut: false });
  app().sessions.end(session.id);
  const response = Response.json({ deleted: true, signedOut: true });
  response.headers.set("Set-Cookie", clearedCookie);
  return response;
});
