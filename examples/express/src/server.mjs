// Placeholder demo until the full example lands: proves the workspace builds and the server
// package loads, on the demo's address.
import { createServer } from "node:http";
import { DPOP_HEADER } from "@devicebound/server";

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 3000);

createServer((_req, res) => {
  res.setHeader("content-type", "text/html; charset=utf-8");
  res.end(
    `<!doctype html><title>devicebound</title><h1>devicebound demo</h1><p>Proofs travel in the <code>${DPOP_HEADER}</code> header.</p>`,
  );
}).listen(port, host, () => {
  console.log(`devicebound demo on http://${host === "127.0.0.1" ? "localhost" : host}:${port}`);
});
