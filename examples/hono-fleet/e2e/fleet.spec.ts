// The fleet end to end: requests alternate between two processes, and everything still holds.
import { createTestDevice } from "@devicebound/server/testing";
import { expect, test } from "@playwright/test";

test("signs in through the proxy while both servers answer, and a new device is reported once", async ({
  page,
}) => {
  const servedBy = new Set<string>();
  page.on("response", (r) => {
    const name = r.headers()["x-served-by"];
    if (name && r.url().includes("/api/")) servedBy.add(name);
  });
  await page.goto("/");
  await page.fill("input[name=password]", "alice-demo-pass");
  await page.click("#login button");
  await expect(page.getByTestId("demo-code")).toHaveText(/^\d{6}$/);
  await page.fill("#code-input", (await page.getByTestId("demo-code").textContent()) ?? "");
  await page.click("#code button");
  await page.waitForURL("**/devices");
  await expect(page.getByTestId("device-row")).toHaveCount(1);
  await page.goto("/inbox");
  await page.locator("body[data-loaded]").waitFor();
  await expect(page.getByTestId("message")).toHaveCount(1);
  expect([...servedBy].sort()).toEqual(["server-1", "server-2"]);
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
  await page.goto("/");
  await page.fill("input[name=username]", "carol");
  await page.fill("input[name=password]", "carol-demo-pass");
  await page.click("#login button");
  await expect(page.getByTestId("demo-code")).toHaveText(/^\d{6}$/);
  await page.fill("#code-input", (await page.getByTestId("demo-code").textContent()) ?? "");
  await page.click("#code button");
  await page.waitForURL("**/devices");
  const sid = (await context.cookies()).find((c) => c.name === "sid");
  const thief = await playwright.request.newContext();
  for (let i = 0; i < 2; i++) {
    const r = await thief.get("/api/devices", { headers: { Cookie: `sid=${sid?.value}` } });
    expect(r.status()).toBe(401);
  }
  await thief.dispose();
});
