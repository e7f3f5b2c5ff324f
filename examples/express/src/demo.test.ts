// The demo's flows against a real SQLite file with a clock the test moves: the wrong-code limits
// per user and per key, code expiry, and sweeping. The browser suite (e2e/) covers the rest.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDevice, type TestDevice } from "@devicebound/server/testing";
import { sqliteStore } from "@devicebound/store-sqlite";
import { afterEach, describe, expect, it } from "vitest";
import {
  AppError,
  CODE_TTL_MS,
  createDemo,
  FAILURE_WINDOW_MS,
  MAX_CODE_FAILURES,
  SESSION_TTL_MS,
} from "./demo.js";
import { sqliteState } from "./sqlite-state.js";

const ORIGIN = "http://demo.test";
const stores: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function setup() {
  const store = sqliteStore({ filename: join(mkdtempSync(join(tmpdir(), "demo-test-")), "db") });
  stores.push(store);
  const clock = { ms: Date.now() };
  const secret = "demo-test-secret-0123456789-0123456789";
  const demo = createDemo({
    binding: { secret, store, publicOrigin: ORIGIN },
    state: sqliteState(store),
    secret,
    secureCookies: false,
    now: () => clock.ms,
  });
  /** A verified proof from `device`, as the routes get it. */
  async function proof(device: TestDevice, path = "/api/login") {
    const { challenge } = await demo.binding.createChallenge({});
    const url = `${ORIGIN}${path}`;
    return demo.binding.verifyProof(await device.proof({ method: "POST", url, nonce: challenge }), {
      method: "POST",
      url,
      ipAddress: "203.0.113.7",
    });
  }
  async function start(device: TestDevice, user: string) {
    const reply = await demo.login(await proof(device), {
      username: user,
      password: `${user}-demo-pass`,
    });
    return reply.body as { pendingId: string; demoCode: string; attemptsLeft: number };
  }
  const code = (device: TestDevice, pendingId: string, value: string) =>
    proof(device, "/api/login/code").then((p) => demo.submitCode(p, { pendingId, code: value }));
  return { store, clock, demo, start, code };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const wrongCode = (right: string) => (right === "000000" ? "111111" : "000000");

describe("the one-time code step", () => {
  it("locks the user and the key after five wrong codes across sign-ins, until the window ends", async () => {
    const { clock, start, code } = setup();
    const device = await createTestDevice();
    let step = await start(device, "alice");
    expect(step.attemptsLeft).toBe(MAX_CODE_FAILURES);
    for (let left = MAX_CODE_FAILURES - 1; left >= 2; left--) {
      const error = await refusal(code(device, step.pendingId, wrongCode(step.demoCode)));
      expect(error.details).toEqual({ attemptsLeft: left });
    }
    // A new sign-in carries the count on instead of granting fresh guesses.
    step = await start(device, "alice");
    expect(step.attemptsLeft).toBe(2);
    await refusal(code(device, step.pendingId, wrongCode(step.demoCode)));
    const last = await refusal(code(device, step.pendingId, wrongCode(step.demoCode)));
    expect(last.code).toBe("too_many_attempts");
    // Even the right code is refused now, and so is a new sign-in, for the user...
    expect((await refusal(code(device, step.pendingId, step.demoCode))).code).toBe(
      "sign_in_expired",
    );
    expect((await refusal(start(await createTestDevice(), "alice"))).code).toBe(
      "too_many_attempts",
    );
    // ...and for the key, whoever signs in with it.
    expect((await refusal(start(device, "bob"))).code).toBe("too_many_attempts");

    clock.ms += FAILURE_WINDOW_MS + 1;
    step = await start(device, "alice");
    expect(step.attemptsLeft).toBe(MAX_CODE_FAILURES);
    const done = await code(device, step.pendingId, step.demoCode);
    expect(done.body).toEqual({ status: "signed-in", newDevice: true });
    expect(done.setCookie).toMatch(
      /^sid=[\w-]+\.[\w-]+; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it("expires codes, and a code only works from the key that started the sign-in", async () => {
    const { clock, start, code } = setup();
    const device = await createTestDevice();
    const step = await start(device, "carol");
    const other = await createTestDevice();
    expect((await refusal(code(other, step.pendingId, step.demoCode))).message).toContain(
      "another browser",
    );
    clock.ms += CODE_TTL_MS + 1;
    expect((await refusal(code(device, step.pendingId, step.demoCode))).code).toBe(
      "sign_in_expired",
    );
  });
});

describe("sweeping", () => {
  it("deletes expired pending sign-ins, sessions and counters, and keeps current ones", async () => {
    const { store, clock, demo, start, code } = setup();
    const device = await createTestDevice();
    const first = await start(device, "dave");
    await refusal(code(device, first.pendingId, wrongCode(first.demoCode)));
    const count = (table: string) =>
      (store.database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect([count("demo_pending"), count("demo_failures")]).toEqual([1, 2]);

    clock.ms += FAILURE_WINDOW_MS + 1;
    const second = await start(device, "dave");
    await code(device, second.pendingId, second.demoCode);
    const stop = demo.startSweeping();
    stop();
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The first sign-in and the old window are gone; the session stays.
    expect([count("demo_pending"), count("demo_failures"), count("demo_sessions")]).toEqual([
      0, 0, 1,
    ]);
    clock.ms += SESSION_TTL_MS + 1;
    demo.startSweeping()();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(count("demo_sessions")).toBe(0);
  });
});
