// The server process itself: a port that is taken stops it loudly, Ctrl-C stops it cleanly, and
// sessions survive a restart (they live in SQLite).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { freePort } from "../../../scripts/free-port.mjs";
import { currentCard, open, signIn } from "./helpers.js";

const SERVER = new URL("../dist/server.js", import.meta.url).pathname;

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      DATA_DIR: mkdtempSync(join(tmpdir(), "demo-")),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function until(check: () => boolean, what: string, ms = 10_000) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const running: ChildProcess[] = [];
test.afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

test("a port that is taken stops the server with exit code 1 and says what to do", async () => {
  // The suite's own server holds E2E_PORT.
  const port = process.env.E2E_PORT as string;
  const server = start({ PORT: port });
  running.push(server.child);
  expect(await server.exited).toBe(1);
  expect(server.output()).toContain(`port ${port} on 127.0.0.1 is already in use`);
  expect(server.output()).toContain(`PORT=${Number(port) + 1} npm run demo`);
  expect(server.output()).not.toContain("devicebound demo: http");
});

test("the start-up lines name the URL and PORT; Ctrl-C (SIGINT) stops it with exit code 0", async () => {
  const port = await freePort();
  const server = start({ PORT: String(port) });
  running.push(server.child);
  await until(() => server.output().includes("Ctrl-C stops it"), "the start-up lines");
  expect(server.output()).toContain(`devicebound demo: http://localhost:${port}`);
  expect(server.output()).toContain(`PORT=${port}`);
  // An open keep-alive connection must not hold the exit back.
  expect((await fetch(`http://127.0.0.1:${port}/api/challenge`)).status).toBe(200);
  server.child.kill("SIGINT");
  expect(await server.exited).toBe(0);
  expect(server.output()).toContain("devicebound demo stopped (SIGINT).");
});

test("sessions survive a restart of the server", async ({ browser }) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), "demo-restart-"));
  const env = { PORT: String(port), DATA_DIR: dataDir, PUBLIC_ORIGIN: origin };
  let server = start(env);
  running.push(server.child);
  await until(() => server.output().includes("Ctrl-C stops it"), "the first start");
  const context = await browser.newContext({ baseURL: origin });
  const page = await context.newPage();
  await signIn(page, "niaj");
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);

  server = start(env);
  running.push(server.child);
  await until(() => server.output().includes("Ctrl-C stops it"), "the second start");
  await open(page, "/devices");
  await expect(currentCard(page)).toBeVisible();
  await context.close();
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
});
