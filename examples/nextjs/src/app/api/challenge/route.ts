import { app } from "@/lib/server";

export const GET = (request: Request) => app().glue.challengeResponse(request);
