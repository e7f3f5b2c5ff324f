import { AppError, app, withDevice } from "@/lib/server";

/** POST /api/devices/:id/block and /unblock. */
export const POST = withDevice<{ params: Promise<{ id: string; action: string }> }>(
  async (_request, { session }, { params }) => {
    const { id, action } = await params;
    const { binding } = app();
    if (action !== "block" && action !== "unblock") {
      throw new AppError(404, "not_found", "No such action.");
    }
    return Response.json({ device: await binding[action](session.userId, id) });
  },
);
