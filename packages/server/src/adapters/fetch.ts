// @devicebound/server/fetch: for Web-standard Request handlers (Next.js route handlers, Remix,
// workers, Deno, Bun; Hono has its own entry, /hono).
import type { DeviceBinding } from "../device-binding.js";
import {
  type GuardAnswer,
  type WebAdapterOptions,
  type WebGuard,
  webDeviceBinding,
} from "./web.js";

export type * from "./types.js";

/** The Fetch guard's answer: the result, or the `Response` to send. */
export type FetchGuardAnswer<R> = GuardAnswer<R>;
/** {@inheritDoc WebGuard} */
export type FetchGuard = WebGuard<Request>;

export type FetchAdapterOptions = WebAdapterOptions<Request>;

export function fetchDeviceBinding(binding: DeviceBinding, options: FetchAdapterOptions = {}) {
  return webDeviceBinding(binding, options, (request: Request) => request, "fetchDeviceBinding");
}
