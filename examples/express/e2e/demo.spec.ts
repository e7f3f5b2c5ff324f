// The demo end to end: the browser signs, the server verifies. Each test uses its own user.
import { type BrowserContext, expect, type Page, test } from "@playwright/test";

const password = (user: string) => `${user}-demo-pass`;

/** Signs in; passes the one-time code step when the device is new. Returns whether it was. */
async function signIn(page: Page, user: string): Promise<boolean> {
  await page.goto("/");
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", password(user));
  await page.click("#login button");
  const code = page.getByTestId("demo-code");
  const outcome = await Promise.race([
    page.waitForURL("**/devices").then(() => "known" as const),
    code.waitFor({ state: "visible" }).then(() => "new" as const),
  ]);
  if (outcome === "new") {
    await expect(code).toHaveText(/^\d{6}$/);
    await page.fill("#code-input", (await code.textContent()) ?? "");
    await page.click("#code button");
    await page.waitForURL("**/devices");
  }
  await expect(page.getByTestId("device-row").first()).toBeVisible();
  return outcome === "new";
}

async function inboxSubjects(page: Page): Promise<string[]> {
  await page.goto("/inbox");
  await page.locator("body[data-loaded]").waitFor();
  return page.getByTestId("message").locator("strong").allTextContents();
}

async function newContext(context: BrowserContext) {
  const browser = context.browser();
  if (!browser) throw new Error("no browser");
  return browser.newContext();
}

test("the first sign-in shows a new-device message; the next one from the same browser does not", async ({
  page,
}) => {
  expect(await signIn(page, "alice")).toBe(true);
  expect(await inboxSubjects(page)).toEqual([
    expect.stringMatching(/^New sign-in from Chrome on Linux$/),
  ]);
  await page.click("#logout");
  await page.waitForURL((url) => url.pathname === "/");
  expect(await signIn(page, "alice")).toBe(false);
  expect(await inboxSubjects(page)).toHaveLength(1);
});

test("a new browser context is a new device; blocking it from the other cuts it off at once", async ({
  page,
  context,
}) => {
  await signIn(page, "bob");
  const other = await newContext(context);
  const second = await other.newPage();
  expect(await signIn(second, "bob")).toBe(true);
  await page.reload();
  await expect(page.getByTestId("device-row")).toHaveCount(2);

  const otherRow = page.locator("[data-testid=device-row]:not([data-current])");
  await otherRow.getByRole("button", { name: "Block" }).click();
  await expect(otherRow).toHaveAttribute("data-status", "blocked");

  await second.reload();
  await expect(second.getByTestId("blocked")).toBeVisible();
  // Signing in again from the blocked device is refused too.
  await second.goto("/");
  await second.fill("input[name=password]", password("bob"));
  await second.fill("input[name=username]", "bob");
  await second.click("#login button");
  await expect(second.locator("#status")).toContainText("blocked");
  await other.close();
});

test("a stolen session cookie replayed without the device key gets 401", async ({
  page,
  context,
  playwright,
}) => {
  await signIn(page, "carol");
  const cookies = await context.cookies();
  const sid = cookies.find((c) => c.name === "sid");
  expect(sid).toBeTruthy();
  const thief = await playwright.request.newContext();
  const response = await thief.get("/api/devices", { headers: { Cookie: `sid=${sid?.value}` } });
  expect(response.status()).toBe(401);
  expect((await response.json()).error).toBe("ERR_PROOF_MISSING");
  // The same cookie in a browser that has its own, different key is refused as well.
  const other = await newContext(context);
  await other.addCookies(cookies);
  const stolen = await other.newPage();
  await stolen.goto("/devices");
  await stolen.waitForURL((url) => url.pathname === "/");
  await thief.dispose();
  await other.close();
});

test("deleting the current device signs out, and the next sign-in is a new device again", async ({
  page,
}) => {
  expect(await signIn(page, "dave")).toBe(true);
  const row = page.locator("[data-testid=device-row][data-current]");
  await row.getByRole("button", { name: "Delete" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  expect(await signIn(page, "dave")).toBe(true);
  expect(await inboxSubjects(page)).toHaveLength(2);
});

test("the single-device policy removes the older device", async ({ page, context }) => {
  await signIn(page, "erin");
  await page.check("#single-device");
  await expect(page.locator("#single-device")).toBeChecked();
  await page.waitForTimeout(300); // the setting is saved in the background
  const other = await newContext(context);
  const second = await other.newPage();
  expect(await signIn(second, "erin")).toBe(true);
  await expect(second.getByTestId("device-row")).toHaveCount(1);
  await page.reload();
  await page.waitForURL((url) => url.pathname === "/");
  await other.close();
});

test("renames a device, and answers bad input with clear errors", async ({ page, playwright }) => {
  await signIn(page, "frank");
  page.once("dialog", (dialog) => dialog.accept("Work laptop"));
  await page
    .locator("[data-testid=device-row][data-current]")
    .getByRole("button", { name: "Rename" })
    .click();
  await expect(page.locator("[data-testid=device-row][data-current] td").first()).toContainText(
    "Work laptop",
  );

  const api = await playwright.request.newContext();
  const badJson = await api.post("/api/login", {
    headers: { "Content-Type": "application/json" },
    data: "{nope",
  });
  expect(badJson.status()).toBe(400);
  expect((await badJson.json()).error).toBe("invalid_json");
  const huge = await api.post("/api/login", {
    headers: { "Content-Type": "application/json" },
    data: JSON.stringify({ x: "y".repeat(20_000) }),
  });
  expect(huge.status()).toBe(413);
  const noProof = await api.post("/api/login", { data: { username: "nobody", password: "x" } });
  expect(noProof.status()).toBe(401);
  expect((await noProof.json()).error).toBe("ERR_PROOF_MISSING");
  expect(noProof.headers()["www-authenticate"]).toContain("DPoP");
  expect(noProof.headers()["dpop-nonce"]).toBeTruthy();
  await api.dispose();

  // Unknown user through the real page: a clear message, no crash.
  await page.click("#logout");
  await page.waitForURL((url) => url.pathname === "/");
  await page.fill("input[name=username]", "nobody");
  await page.fill("input[name=password]", "whatever");
  await page.click("#login button");
  await expect(page.locator("#status")).toContainText("Unknown user or wrong password");
});
