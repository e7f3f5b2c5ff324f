// The Next.js example end to end in Chromium: sign-in with the new-device code, the devices page
// (rename, block, unblock, delete), the protected route handlers, and a stolen cookie refused.
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

async function newContext(context: BrowserContext) {
  const browser = context.browser();
  if (!browser) throw new Error("no browser");
  return browser.newContext();
}

test("a new device needs the code once; the key status comes from useDevice()", async ({
  page,
}) => {
  await page.goto("/");
  await expect(page.getByTestId("key-status")).toHaveText("created");
  expect(await signIn(page, "alice")).toBe(true);
  await expect(page.locator("[data-testid=device-row][data-current]")).toHaveCount(1);
  await page.click("#logout");
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.getByTestId("key-status")).toHaveText("restored");
  expect(await signIn(page, "alice")).toBe(false);
});

test("blocking a device from another cuts it off at once, at sign-in too; unblocking restores it", async ({
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
  // The server component checks the session's device before rendering.
  await second.reload();
  await expect(second.getByTestId("blocked")).toBeVisible();
  await second.goto("/");
  await second.fill("input[name=username]", "bob");
  await second.fill("input[name=password]", password("bob"));
  await second.click("#login button");
  await expect(second.locator("#status")).toContainText("blocked");

  await otherRow.getByRole("button", { name: "Unblock" }).click();
  await expect(otherRow).toHaveAttribute("data-status", "active");
  await second.goto("/devices");
  await expect(second.getByTestId("device-row")).toHaveCount(2);
  await other.close();
});

test("a stolen session cookie is refused without the device key, and with another key", async ({
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
  expect(response.headers()["dpop-nonce"]).toBeTruthy();
  await thief.dispose();
  // The same cookie in a browser with its own key: the page's first API call is refused.
  const other = await newContext(context);
  await other.addCookies(cookies);
  const stolen = await other.newPage();
  const refused = stolen.waitForResponse((r) => r.url().endsWith("/api/me"));
  await stolen.goto("/devices");
  expect((await refused).status()).toBe(401);
  await stolen.waitForURL((url) => url.pathname === "/");
  await other.close();
});

test("renames a device, and deleting the current one signs out and makes it new again", async ({
  page,
}) => {
  expect(await signIn(page, "dave")).toBe(true);
  const current = page.locator("[data-testid=device-row][data-current]");
  page.once("dialog", (dialog) => dialog.accept("Work laptop"));
  await current.getByRole("button", { name: "Rename" }).click();
  await expect(current.locator("td").first()).toHaveText("Work laptop");
  await current.getByRole("button", { name: "Delete" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  expect(await signIn(page, "dave")).toBe(true);
});

test("without a session the proxy sends /devices back to sign-in", async ({ page }) => {
  await page.goto("/devices");
  await expect(page).toHaveURL((url) => url.pathname === "/");
});
