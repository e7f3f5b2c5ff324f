// Throwaway Redis and PostgreSQL servers that a test may stop and start again (the shared ones
// that `npm test` provides must keep running for every other suite). Loopback only, temp dirs.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../../scripts/free-port.mjs";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not happen within ${ms} ms`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.connect(port, "127.0.0.1");
  });
}

export interface RestartableService {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

/** Redis with an fsync'ed append-only file, as the replay store needs in production (README). */
export async function startRedis(): Promise<RestartableService> {
  const dir = mkdtempSync(join(tmpdir(), "devicebound-redis-"));
  const port = await freePort();
  const args = ["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--save", ""];
  args.push("--appendonly", "yes", "--appendfsync", "always");
  let proc: ChildProcess | null = null;
  const service: RestartableService = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = spawn("redis-server", args, { stdio: "ignore" });
      await until("Redis accepting connections", () => portOpen(port));
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((resolve) => p.once("exit", resolve));
      p.kill("SIGTERM"); // a clean shutdown: Redis flushes its append-only file
      await exited;
    },
    async destroy() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await service.start();
  return service;
}

function pgBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb")));
  if (!bin)
    throw new Error(
      "PostgreSQL binaries not found under /usr/lib/postgresql (npm test installs them)",
    );
  return bin;
}

/** PostgreSQL in its own cluster (initdb refuses root, so as root it runs as `postgres`). */
export async function startPostgres(): Promise<RestartableService> {
  const bin = pgBin();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "devicebound-pg-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  mkdirSync(data);
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    chownSync(data, uid, gid);
  }
  const run = (tool: string, args: string[]) =>
    root
      ? execFileSync("runuser", ["-u", "postgres", "--", join(bin, tool), ...args], {
          stdio: "pipe",
        })
      : execFileSync(join(bin, tool), args, { stdio: "pipe" });
  run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = `-h 127.0.0.1 -p ${port} -k ${data}`;
  const service: RestartableService = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      run("pg_ctl", [
        "-D",
        data,
        "-l",
        join(data, "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        options,
        "start",
      ]);
    },
    async stop() {
      // -m fast: what a restart by an operator or an orchestrator does; committed data is kept.
      run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
    },
    async destroy() {
      try {
        await service.stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await service.start();
  return service;
}
