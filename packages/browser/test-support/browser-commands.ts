// Node-side commands for the Chromium suite: verify a proof with jose, and drive whole pages with
// Playwright (real reloads, pages opened at once) against the bundle served from loopback.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from "jose";
import type { BrowserCommand } from "vitest/node";

export interface VerifiedInNode {
  claims: Record<string, unknown>;
  jkt: string;
}

export interface DevicePagesResult {
  /** The thumbprint each page saw, in opening order. */
  thumbprints: string[];
  /** How each page found its key. */
  statuses: string[];
  /** The first page's thumbprint after a real reload, when asked. */
  afterReload?: string;
  afterReloadStatus?: string;
}

const verifyProofInNode: BrowserCommand<[proof: string]> = async (_ctx, proof) => {
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
    typ: "dpop+jwt",
    algorithms: ["ES256"],
  });
  return {
    claims: payload,
    jkt: await calculateJwkThumbprint(
      protectedHeader.jwk as Parameters<typeof calculateJwkThumbprint>[0],
    ),
  } satisfies VerifiedInNode;
};

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as device from "/devicebound.js";
const db = new URLSearchParams(location.search).get("db");
const status = new Promise((resolve) => device.initFetchWithDevice({
  databaseName: db,
  fetchChallenge: async () => ({ challenge: "c", expiresAt: new Date(Date.now() + 60000) }),
  onDeviceKey: (event) => resolve(event.status),
}));
window.device = device;
window.ready = device.getDeviceThumbprint().then(async (jkt) => [jkt, await status]);
</script>`;

async function serveBundle() {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
  });
  const js = bundle.outputFiles[0]?.text ?? "";
  const server = createServer((req, res) => {
    const isScript = req.url?.startsWith("/devicebound.js");
    res.writeHead(200, { "content-type": isScript ? "text/javascript" : "text/html" });
    res.end(isScript ? js : PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

// Opens `count` pages on the same fresh database at once (same browser context, so they share
// IndexedDB like tabs do), then optionally reloads the first one.
const openDevicePages: BrowserCommand<
  [options: { count: number; reload?: boolean; db: string }]
> = async (ctx, { count, reload, db }) => {
  const { server, origin } = await serveBundle();
  const pages = await Promise.all(Array.from({ length: count }, () => ctx.context.newPage()));
  try {
    const url = `${origin}/?db=${encodeURIComponent(db)}`;
    const ready = (page: (typeof pages)[number]) =>
      page.evaluate(() => (window as unknown as { ready: Promise<[string, string]> }).ready);
    const seen = await Promise.all(
      pages.map(async (page) => {
        await page.goto(url);
        return ready(page);
      }),
    );
    const result: DevicePagesResult = {
      thumbprints: seen.map(([jkt]) => jkt),
      statuses: seen.map(([, status]) => status),
    };
    const first = pages[0];
    if (reload && first) {
      await first.reload();
      [result.afterReload, result.afterReloadStatus] = await ready(first);
    }
    return result;
  } finally {
    await Promise.all(pages.map((page) => page.close()));
    server.close();
  }
};

export const browserCommands = { verifyProofInNode, openDevicePages };
