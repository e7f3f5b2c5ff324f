// The fleet end to end: requests alternate between two processes, and everything still holds.
import { spawn } from "node:child_process";
import { createTestDevice } from "@devicebound/server/testing";
import { expect, test } from "@playwright/test";
import { Redis } from "ioredis";
import {
  audit,
  currentCard,
  open,
  otherBrowser,
  otherCards,
  providerSignIn,
  signedOutNotice,
  signIn,
} from "../../express/e2e/helpers.js";

const prefix = `${process.env.E2E_FLEET_RUN}:`;
const sessionId = (cookie: string | undefined) => (cookie ?? "").split(".")[0];

test("signs in through the proxy while both servers answer, and a new device is reported once", async ({
  page,
}) => {
  const servedBy = new Set<string>();
  page.on("response", (r) => {
    const name = r.headers()["x-served-by"];
    if (name && r.url().includes("/api/")) servedBy.add(name);
  });
  expect(await signIn(page, "alice")).toBe(true);
  await expect(page.getByTestId("device-row")).toHaveCount(1);
  await open(page, "/inbox");
  await expect(page.getByTestId("message")).toHaveCount(1);
  await expect(page.getByTestId("message").locator(".subject")).toHaveText(
    "New sign-in from Chrome on Linux",
  );
  await audit(page, "the fleet's inbox");
  expect([...servedBy].sort()).toEqual(["server-1", "server-2"]);
});

test("signs in through the provider: the SSO session is bound in Redis, then the code step", async ({
  page,
}) => {
  await providerSignIn(page, "judy");
  const code = page.getByTestId("demo-code");
  await expect(code).toHaveText(/^\d{6}$/);
  await page.fill("#code-input", (await code.textContent()) ?? "");
  await page.click("#code button");
  await page.waitForURL("**/devices");
  await expect(page.getByTestId("device-row")).toHaveCount(1);
});

test("every page and API answer carries the Content-Security-Policy", async ({ request }) => {
  for (const path of [
    "/",
    "/devices",
    "/inbox",
    "/sso/start",
    "/static/app.js",
    "/api/challenge",
  ]) {
    const response = await request.get(path);
    expect(response.headers()["content-security-policy"], path).toContain("default-src 'self'");
    expect(response.headers()["x-content-type-options"], path).toBe("nosniff");
  }
});

test("a challenge issued by one server is accepted by the other", async ({ playwright }) => {
  const port = Number(process.env.E2E_FLEET_PORT);
  const origin = `http://127.0.0.1:${port}`;
  const one = await playwright.request.newContext({ baseURL: `http://127.0.0.1:${port + 1}` });
  const two = await playwright.request.newContext({ baseURL: `http://127.0.0.1:${port + 2}` });
  const device = await createTestDevice();
  const { challenge } = await (
    await one.get("/api/challenge", { headers: { "User-Agent": "fleet-test" } })
  ).json();
  const proof = await device.proof({
    method: "POST",
    url: `${origin}/api/login`,
    nonce: challenge,
  });
  const answer = await two.post("/api/login", {
    headers: { DPoP: proof, "User-Agent": "fleet-test" },
    data: { username: "bob", password: "bob-demo-pass" },
  });
  expect(answer.headers()["x-served-by"]).toBe("server-2");
  expect(answer.status()).toBe(200);
  expect((await answer.json()).status).toBe("code-required");
  // The login's challenge was single-use: the first server refuses it now.
  const again = await device.proof({
    method: "POST",
    url: `${origin}/api/login`,
    nonce: challenge,
  });
  const replay = await one.post("/api/login", {
    headers: { DPoP: again, "User-Agent": "fleet-test" },
    data: { username: "bob", password: "bob-demo-pass" },
  });
  expect(replay.status()).toBe(401);
  expect((await replay.json()).error).toBe("ERR_CHALLENGE_USED");
  await one.dispose();
  await two.dispose();
});

test("a stolen session cookie gets 401 from every server", async ({
  page,
  context,
  playwright,
}) => {
  await signIn(page, "carol");
  const sid = (await context.cookies()).find((c) => c.name === "sid");
  const thief = await playwright.request.newContext();
  for (let i = 0; i < 2; i++) {
    const r = await thief.get("/api/devices", { headers: { Cookie: `sid=${sid?.value}` } });
    expect(r.status()).toBe(401);
  }
  await thief.dispose();
});

test("sign-out deletes the session from Redis, and the old cookie stops working", async ({
  page,
  context,
}) => {
  const redis = new Redis(process.env.DEVICEBOUND_TEST_REDIS_URL as string);
  await signIn(page, "dave");
  const cookies = await context.cookies();
  const id = sessionId(cookies.find((c) => c.name === "sid")?.value);
  expect(await redis.exists(`${prefix}session:${id}`)).toBe(1);
  await page.click("#logout");
  await expect(await signedOutNotice(page)).toHaveText("You signed out.");
  expect(await redis.exists(`${prefix}session:${id}`)).toBe(0);
  // The cookie put back into the browser (which still holds the right key) is dead.
  await context.addCookies(cookies);
  await page.goto("/devices");
  await expect(await signedOutNotice(page)).toHaveText("You signed out.");
  await redis.quit();
});

test("a deleted device's old cookie stays dead after the same key registers again", async ({
  page,
  browser,
}) => {
  await signIn(page, "erin");
  const other = await otherBrowser(browser);
  await signIn(other.page, "erin");
  const oldCookies = await other.context.cookies();
  await open(page, "/devices");
  await otherCards(page).getByRole("button", { name: "Delete" }).click();
  await page
    .getByRole("dialog")
    .getByRole("button", { name: "Delete Chrome on Linux (2)" })
    .click();
  await expect(page.getByTestId("device-row")).toHaveCount(1);

  expect(await signIn(other.page, "erin")).toBe(true);
  await other.context.clearCookies();
  await other.context.addCookies(oldCookies);
  await other.page.goto("/devices");
  await expect(await signedOutNotice(other.page)).toContainText("removed from your account");
  await other.context.close();
  await expect(currentCard(page)).toBeVisible();
});

function launch(env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, ["dist/fleet.js"], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, output })),
  );
}

test("the launcher fails loudly when the database settings are missing or wrong", async () => {
  const missing = await launch({ PORT: "1" });
  expect(missing.code).toBe(1);
  expect(missing.output).toContain("DATABASE_URL and REDIS_URL are not set");

  const port = Number(process.env.E2E_FLEET_PORT) + 3;
  const wrong = await launch({
    PORT: String(port),
    DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere",
    REDIS_URL: process.env.DEVICEBOUND_TEST_REDIS_URL,
  });
  expect(wrong.code).toBe(1);
  expect(wrong.output).toContain("cannot reach PostgreSQL at DATABASE_URL");
  expect(wrong.output).toContain("the fleet is down");
  expect(wrong.output).not.toContain("devicebound fleet: http");

  // The running fleet holds these ports: a second one cannot start, and says so.
  const busy = await launch({
    PORT: process.env.E2E_FLEET_PORT,
    DATABASE_URL: process.env.DEVICEBOUND_TEST_PG_URL,
    REDIS_URL: process.env.DEVICEBOUND_TEST_REDIS_URL,
    REDIS_PREFIX: `${prefix}busy:`,
    DATABASE_SCHEMA: process.env.E2E_FLEET_RUN,
  });
  expect(busy.code).toBe(1);
  expect(busy.output).toContain("cannot listen on 127.0.0.1:");
  expect(busy.output).not.toContain("devicebound fleet: http");
});
