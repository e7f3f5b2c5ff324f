import { app, withDevice } from "@/lib/server";

export const GET = withDevice(async (_request, { session, deviceId }) => {
  const devices = await app().binding.list(session.userId);
  return Response.json({ devices: devices.map((d) => ({ ...d, current: d.id === deviceId })) });
});
