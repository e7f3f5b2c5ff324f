import { app, withDevice } from "@/lib/server";

export const GET = withDevice(async (_request, { session, deviceId }) =>
  Response.json({
    user: { id: session.userId },
    device: await app().binding.get(session.userId, deviceId),
    tier: "dpop",
  }),
);
