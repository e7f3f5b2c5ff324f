// Starts the fleet: two server processes and a small round-robin proxy in front of them, so one
// browser's requests alternate between processes (see X-Served-By). Needs DATABASE_URL and
// REDIS_URL; PORT (default 3000) is the proxy's.
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";

const port = Number(process.env.PORT ?? 3000);
const publicOrigin = process.env.PUBLIC_ORIGIN ?? `http://localhost:${port}`;
const secret = process.env.DEVICEBOUND_SECRET ?? randomBytes(32).toString("base64url");
const backends = [port + 1, port + 2];

const children: ChildProcess[] = backends.map((backend, i) =>
  fork(new URL("./server.js", import.meta.url), {
    env: {
      ...process.env,
      PORT: String(backend),
      PUBLIC_ORIGIN: publicOrigin,
      DEVICEBOUND_SECRET: secret,
      SERVER_NAME: `server-${i + 1}`,
    },
  }),
);

let turn = 0;
const proxy = createServer((req, res) => {
  const target = backends[turn++ % backends.length] as number;
  const upstream = request(
    {
      host: "127.0.0.1",
      port: target,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, "x-forwarded-for": req.socket.remoteAddress ?? "" },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    res.writeHead(502, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({ error: "bad_gateway", message: "That server of the fleet is not up yet." }),
    );
  });
  req.pipe(upstream);
});
proxy.listen(port, "127.0.0.1", () =>
  console.log(`devicebound fleet on ${publicOrigin} -> 127.0.0.1:${backends.join(", 127.0.0.1:")}`),
);

const stop = () => {
  proxy.close();
  for (const child of children) child.kill("SIGTERM");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
