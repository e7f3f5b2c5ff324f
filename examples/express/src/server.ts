// Starts the demo: `npm run demo` at the repo root (or `node dist/server.js` here after a build).
// A port that is taken stops it with a clear message and exit code 1; Ctrl-C stops it cleanly.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "./app.js";
import { demoCertificate } from "./tls.js";

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`error: PORT must be a port number, not "${process.env.PORT}"`);
  process.exit(1);
}
const dataDir = process.env.DATA_DIR ?? fileURLToPath(new URL("../data/", import.meta.url));
mkdirSync(dataDir, { recursive: true });

// The challenge and session secret: from the environment, or made once and kept in the data dir.
const secretFile = join(dataDir, "secret");
if (!process.env.DEVICEBOUND_SECRET && !existsSync(secretFile)) {
  writeFileSync(secretFile, randomBytes(32).toString("base64url"), { mode: 0o600 });
}
const secret = process.env.DEVICEBOUND_SECRET ?? readFileSync(secretFile, "utf8").trim();

// HTTPS=1: a self-signed certificate kept in the data dir, and hardware-bound sessions (DBSC),
// which browsers offer only over HTTPS. DBSC_COOKIE_SECONDS sets the bound cookie's lifetime.
const https = process.env.HTTPS === "1";
const cookieSeconds = Number(process.env.DBSC_COOKIE_SECONDS ?? 600);
if (!Number.isInteger(cookieSeconds) || cookieSeconds < 1) {
  console.error(
    `error: DBSC_COOKIE_SECONDS must be a whole number of seconds, not "${process.env.DBSC_COOKIE_SECONDS}"`,
  );
  process.exit(1);
}
const scheme = https ? "https" : "http";
const shown = host === "127.0.0.1" || host === "0.0.0.0" ? "localhost" : host;
const publicOrigins = process.env.PUBLIC_ORIGIN
  ? process.env.PUBLIC_ORIGIN.split(",")
  : [`${scheme}://localhost:${port}`, `${scheme}://127.0.0.1:${port}`];

const { app, close } = createApp({
  dataDir,
  publicOrigins,
  secret,
  ...(https ? { dbsc: { cookieLifetimeSeconds: cookieSeconds } } : {}),
});
const certificate = https ? demoCertificate(dataDir) : null;
const server = certificate ? createHttpsServer(certificate, app) : createServer(app);

server.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EADDRINUSE") {
    console.error(
      `error: port ${port} on ${host} is already in use, so the demo did not start.\n` +
        `Stop what is using it, or pick another port: PORT=${port + 1} npm run demo`,
    );
  } else if (error.code === "EACCES") {
    console.error(`error: no permission to listen on ${host}:${port}. Pick a port above 1023.`);
  } else {
    console.error(`error: cannot listen on ${host}:${port}: ${error.message}`);
  }
  void close().finally(() => process.exit(1));
});

server.listen(port, host, () => {
  console.log(
    [
      `devicebound demo: ${scheme}://${shown}:${port}`,
      `  data:  ${dataDir} (SQLite: devices, sessions, messages)`,
      ...(certificate
        ? [
            `  https: self-signed certificate ${join(dataDir, "tls-cert.pem")}; hardware-bound sessions (DBSC) on, bound cookie ${cookieSeconds} s`,
            `spki-sha256: ${certificate.spkiSha256}`,
          ]
        : []),
      "  users: alice, bob, carol … walter (see the sign-in page); password <user>-demo-pass",
      `  PORT=${port} HOST=${host} (set PORT to use another port); Ctrl-C stops it`,
    ].join("\n"),
  );
});

let stopping = false;
function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  server.close();
  // Keep-alive connections from an open browser tab would hold close() open.
  server.closeAllConnections();
  void close().then(
    () => {
      console.log(`\ndevicebound demo stopped (${signal}).`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error("error while stopping:", error);
      process.exit(1);
    },
  );
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
