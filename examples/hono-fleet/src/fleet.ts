// Starts the fleet: two server processes and a small round-robin proxy in front of them, so one
// browser's requests alternate between processes (see X-Served-By). It says it is up only once
// both servers have reached PostgreSQL and Redis; if either cannot, it stops with exit code 1.
// `npm run fleet` at the repo root starts throwaway PostgreSQL and Redis and runs this.
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";

function fail(message: string): never {
  console.error(`error: ${message}`);
  for (const child of children) child.kill("SIGTERM");
  process.exit(1);
}

const children: ChildProcess[] = [];
const missing = ["DATABASE_URL", "REDIS_URL"].filter((name) => !process.env[name]);
if (missing.length > 0) {
  fail(
    `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set. Run \`npm run fleet\` at the repo root, which starts PostgreSQL and Redis for you, or see examples/hono-fleet/README.md.`,
  );
}
const port = Number(process.env.PORT ?? 3000);
const publicOrigin = process.env.PUBLIC_ORIGIN ?? `http://localhost:${port}`;
const secret = process.env.DEVICEBOUND_SECRET ?? randomBytes(32).toString("base64url");
const backends = [port + 1, port + 2];
const STARTUP_TIMEOUT_MS = 30_000;

let stopping = false;
const ready = backends.map(
  (backend, i) =>
    new Promise<void>((resolve) => {
      const child = fork(new URL("./server.js", import.meta.url), {
        env: {
          ...process.env,
          PORT: String(backend),
          PUBLIC_ORIGIN: publicOrigin,
          DEVICEBOUND_SECRET: secret,
          SERVER_NAME: `server-${i + 1}`,
        },
      });
      children.push(child);
      child.on("message", (message) => {
        if ((message as { ready?: string }).ready) resolve();
      });
      child.on("exit", (code) => {
        if (!stopping) fail(`server-${i + 1} stopped (exit code ${code}); the fleet is down.`);
      });
    }),
);

const timer = setTimeout(
  () => fail(`the servers did not start within ${STARTUP_TIMEOUT_MS / 1000} s.`),
  STARTUP_TIMEOUT_MS,
);
await Promise.all(ready);
clearTimeout(timer);

let turn = 0;
const proxy = createServer((req, res) => {
  const target = backends[turn++ % backends.length] as number;
  const upstream = request(
    {
      host: "127.0.0.1",
      port: target,
      method: req.method,
      path: req.url,
      // Overwritten, never appended: the servers trust this header (trustProxy).
      headers: { ...req.headers, "x-forwarded-for": req.socket.remoteAddress ?? "" },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    res.writeHead(502, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: "bad_gateway", message: "That server of the fleet is down." }));
  });
  req.pipe(upstream);
});
proxy.on("error", (error: NodeJS.ErrnoException) =>
  fail(
    error.code === "EADDRINUSE"
      ? `port ${port} is already in use. Pick another: PORT=${port + 10} npm run fleet`
      : `cannot listen on 127.0.0.1:${port}: ${error.message}`,
  ),
);
proxy.listen(port, "127.0.0.1", () =>
  console.log(
    `devicebound fleet: ${publicOrigin} -> 127.0.0.1:${backends.join(", 127.0.0.1:")} (PORT=${port}; Ctrl-C stops it)`,
  ),
);

function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  proxy.close();
  proxy.closeAllConnections();
  let left = children.length;
  for (const child of children) {
    child.once("exit", () => {
      if (--left === 0) {
        console.log(`devicebound fleet stopped (${signal}).`);
        process.exit(0);
      }
    });
    child.kill("SIGTERM");
  }
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
