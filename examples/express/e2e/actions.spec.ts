// Action-bound tokens, the known-device checks before sign-in, and the administrator's view.
import { expect, type Page, test } from "@playwright/test";
import {
  audit,
  currentCard,
  inboxSubjects,
  open,
  otherBrowser,
  otherCards,
  ready,
  signIn,
  submitPassword,
} from "./helpers.js";

async function transfer(page: Page, to: string, amount: string) {
  await page.selectOption("#transfer-to", to);
  await page.fill("#transfer-amount", amount);
  // The answer after fetchWithDevice's one retry, if the server asked for a fresh challenge.
  const answer = page.waitForResponse(
    (r) => r.url().endsWith("/api/transfer") && r.status() !== 401,
  );
  await page.click("#transfer button");
  return answer;
}

test("a transfer needs this device's signature over exactly its payee and amount, used once", async ({
  page,
}) => {
  await signIn(page, "peggy");
  const ok = await transfer(page, "bob", "100");
  expect(ok.status()).toBe(200);
  await expect(page.getByTestId("signed")).toContainText(
    'action “transfer”, data {"to":"bob","amount":100}',
  );
  await audit(page, "the devices page with a signed transfer");
  const token = JSON.parse(ok.request().postData() ?? "{}").token as string;

  // Altered on the way: the amount no longer matches what the device signed.
  await page.route("**/api/transfer", (route) =>
    route.continue({
      postData: JSON.stringify({ ...JSON.parse(route.request().postData() ?? "{}"), amount: 1000 }),
    }),
  );
  const altered = await transfer(page, "bob", "100");
  expect(altered.status()).toBe(403);
  expect((await altered.json()).error).toBe("ERR_ACTION_DATA");
  await expect(page.locator("#transfer-result [role=alert]")).toBeVisible();

  // Replayed: the first token again, on a request that is otherwise valid.
  await page.unroute("**/api/transfer");
  await page.route("**/api/transfer", (route) =>
    route.continue({
      postData: JSON.stringify({ ...JSON.parse(route.request().postData() ?? "{}"), token }),
    }),
  );
  const replayed = await transfer(page, "bob", "100");
  expect(replayed.status()).toBe(403);
  expect((await replayed.json()).error).toBe("ERR_ACTION_REPLAYED");
});

test("the sign-in page greets the user this browser remembers, and only where the server knows the device", async ({
  page,
  browser,
}) => {
  await signIn(page, "victor");
  await page.click("#logout");
  await page.waitForURL((url) => url.pathname === "/");
  await ready(page);
  await expect(page.locator("h1")).toHaveText("Welcome back, Victor");
  await expect(page.locator("input[name=username]")).toHaveValue("victor");
  const other = await otherBrowser(browser);
  await open(other.page, "/");
  await expect(other.page.locator("h1")).toHaveText("Sign in");
  await expect(other.page.locator("input[name=username]")).toHaveValue("");
  await other.context.close();
});

test("only registered devices may sign in: an unknown, a blocked, or another user's device is refused before the password", async ({
  page,
  browser,
}) => {
  await signIn(page, "walter");
  const second = await otherBrowser(browser);
  await signIn(second.page, "walter");
  const stranger = await otherBrowser(browser);
  await signIn(stranger.page, "mallory"); // known, but to another user only
  await stranger.page.click("#logout");
  await stranger.page.waitForURL((url) => url.pathname === "/");

  await open(page, "/devices");
  await otherCards(page)
    .getByRole("button", { name: /^Block / })
    .click();
  await expect(otherCards(page)).toHaveAttribute("data-status", "blocked");
  await page.check("#known-only");
  await expect(page.locator("#known-only-saved")).toHaveText(
    "Saved: only your registered devices can sign in now.",
  );

  const fresh = await otherBrowser(browser);
  for (const p of [fresh.page, second.page, stranger.page]) {
    await open(p, "/");
    // A wrong password on purpose: the refusal comes before the password is looked at.
    await submitPassword(p, "walter", "not-the-password");
    await expect(p.locator("#status")).toContainText(
      "accepts sign-ins only from its registered devices",
    );
  }
  // The registered, active device still signs in.
  await page.click("#logout");
  await page.waitForURL((url) => url.pathname === "/");
  await ready(page);
  await submitPassword(page, "walter");
  await page.waitForURL("**/devices");
  for (const b of [second, stranger, fresh]) await b.context.close();
});

test("the administrator sees every user's devices, pages and filters them, blocks one with an audit entry, and its owner is told", async ({
  page,
  browser,
}) => {
  // Another user is refused the administrator's pages and API.
  await signIn(page, "xavier");
  await open(page, "/admin");
  await expect(page.locator("#status")).toHaveText("Only the administrator can see this page.");
  expect(await page.evaluate(() => fetch("/api/admin/devices").then((r) => r.status))).not.toBe(
    200,
  );

  const owner = await otherBrowser(browser);
  await signIn(owner.page, "xavier");
  const admin = await otherBrowser(browser);
  await signIn(admin.page, "admin");
  await open(admin.page, "/admin?limit=1");
  await audit(admin.page, "the administrator's device list");
  await admin.page.fill("#query", "xavier");
  await admin.page.click("#filter button");
  const rows = admin.page.getByTestId("admin-row");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Xavier (2 devices)");
  const firstName = await rows.first().locator("td").nth(1).textContent();
  await admin.page.click("#next-page");
  await expect(rows.first()).not.toContainText(firstName ?? "");
  await expect(admin.page.locator("#next-page")).toBeDisabled();

  // Block the device "xavier" is using in `page` (the first one he signed in on).
  await admin.page.click("#first-page");
  await expect(rows).toHaveCount(1);
  await rows
    .first()
    .getByRole("button", { name: /^Block Chrome on Linux of Xavier$/ })
    .click();
  await expect(admin.page.locator(".toast")).toContainText("Blocked Chrome on Linux of Xavier");
  await admin.page.selectOption("#status-filter", "blocked");
  await admin.page.click("#filter button");
  await expect(rows.first()).toHaveAttribute("data-status", "blocked");

  await open(admin.page, "/admin/audit");
  await expect(admin.page.getByTestId("audit-row").first()).toContainText("block");
  await expect(admin.page.getByTestId("audit-row").first()).toContainText(
    "Chrome on Linux of xavier",
  );
  await audit(admin.page, "the audit log");

  // The owner's other device shows it, and the inbox says so.
  await open(owner.page, "/devices");
  await expect(otherCards(owner.page)).toContainText("Blocked by an administrator");
  await expect(currentCard(owner.page)).toHaveAttribute("data-status", "active");
  expect(await inboxSubjects(owner.page)).toContain("An administrator blocked Chrome on Linux");
  // And the blocked browser itself is cut off.
  await page.goto("/devices");
  await expect(page.getByTestId("blocked")).toBeVisible();
  for (const b of [owner, admin]) await b.context.close();
});
