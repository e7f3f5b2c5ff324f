// Runs before pages render: a page that needs a session sends a browser without one back to the
// sign-in page. Only a cheap pre-check (a navigation carries no proof): the device itself is
// checked where the request is answered, in the page, the server actions and the route handlers.
import { type NextRequest, NextResponse } from "next/server";

export function proxy(request: NextRequest) {
  if (request.cookies.has("sid")) return NextResponse.next();
  return NextResponse.redirect(new URL("/", request.url));
}

export const config = { matcher: ["/devices/:path*"] };
