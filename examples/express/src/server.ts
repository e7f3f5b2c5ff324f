// Starts the demo: `pnpm --filter ./examples/express start` (or `npm run demo` at the repo root).
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "./app.js";

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 3000);
const dataDir = process.env.DATA_DIR ?? fileURLToPath(new URL("../data/", import.meta.url));
mkdirSync(dataDir, { recursive: true });

// The challenge and session secret: from the environment, or made once and kept in the data dir.
const secretFile = join(dataDir, "secret");
if (!process.env.DEVICEBOUND_SECRET && !existsSync(secretFile)) {
  writeFileSync(secretFile, randomBytes(32).toString("base64url"), { mode: 0o600 });
}
const secret = process.env.DEVICEBOUND_SECRET ?? readFileSync(secretFile, "utf8").trim();

const shown = host === "127.0.0.1" || host === "0.0.0.0" ? "localhost" : host;
const publicOrigins = process.env.PUBLIC_ORIGIN
  ? process.env.PUBLIC_ORIGIN.split(",")
  : [`http://localhost:${port}`, `http://127.0.0.1:${port}`];

const { app, close } = createApp({ dataDir, publicOrigins, secret });
const server = app.listen(port, host, () => {
  console.log(`devicebound demo on http://${shown}:${port} (data in ${dataDir})`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    server.close();
    void close().then(() => process.exit(0));
  });
}
