// Serves the test page: HTML rendered with react-dom/server, the client bundle (esbuild, from src),
// and a devicebound server (challenge route, and /api/me verifying the proof with the server package).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createDeviceBinding, memoryStore } from "@devicebound/server";
import { nodeDeviceBinding } from "@devicebound/server/express";
import { build } from "esbuild";
import { renderToString } from "react-dom/server";
import { App } from "./app.js";

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

export async function servePage(): Promise<PageServer> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("./client.tsx", import.meta.url))],
    bundle: true,
    format: "esm",
    jsx: "automatic",
    write: false,
    define: { "process.env.NODE_ENV": '"development"' },
    alias: {
      "@devicebound/browser": fileURLToPath(new URL("../../browser/src/index.ts", import.meta.url)),
    },
  });
  const js = bundle.outputFiles[0]?.text ?? "";
  let glue!: ReturnType<typeof nodeDeviceBinding>;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/app.js") {
      res.writeHead(200, { "Content-Type": "text/javascript" }).end(js);
    } else if (url.pathname === "/api/challenge") {
      await glue.challengeHandler()(req, res);
    } else if (url.pathname === "/api/me") {
      try {
        const proof = await glue.verify(req);
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ jkt: proof.jkt }));
      } catch (error) {
        await glue.sendError(req, res, error);
      }
    } else {
      const markup = renderToString(<App db={url.searchParams.get("db") ?? "devicebound"} />);
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><meta charset="utf-8"><title>react</title><div id="root">${markup}</div><script type="module" src="/app.js"></script>`,
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const binding = createDeviceBinding({
    secret: "react-page-secret-0123456789-abcdef-0123",
    store: memoryStore(),
    publicOrigin: origin,
  });
  glue = nodeDeviceBinding(binding);
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
