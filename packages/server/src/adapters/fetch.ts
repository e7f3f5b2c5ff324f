// @devicebound/server/fetch: for Web-standard Request handlers (Next.js route handlers, Remix,
// workers, Deno, Bun; Hono has its own entry, /hono).
import type { DeviceBinding } from "../device-binding.js";
import { type WebAdapterOptions, webDeviceBinding } from "./web.js";

export type * from "./types.js";
export type { GuardAnswer } from "./web.js";

export type FetchAdapterOptions = WebAdapterOptions<Request>;

export function fetchDeviceBinding(binding: DeviceBinding, options: FetchAdapterOptions = {}) {
  return webDeviceBinding(binding, options, (request: Request) => request, "fetchDeviceBinding");
}
