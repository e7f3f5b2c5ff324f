// The demo's device flows end to end: the browser signs, the server verifies. Each test has its
// own user, so they run in parallel.
import { expect, test } from "@playwright/test";
import {
  audit,
  currentCard,
  inboxSubjects,
  open,
  otherBrowser,
  otherCards,
  ready,
  signedOutNotice,
  signIn,
  submitPassword,
} from "./helpers.js";

test("the first sign-in sends a security message with device, time, IP and a block link; the next one does not", async ({
  page,
}) => {
  expect(await signIn(page, "alice")).toBe(true);
  await audit(page, "the devices page");
  expect(await inboxSubjects(page)).toEqual(["New sign-in from Chrome on Linux"]);
  const mail = page.getByTestId("message").first();
  await expect(mail.locator(".mail-facts")).toContainText("Chrome on Linux (key");
  await expect(mail.locator(".mail-facts")).toContainText("IP address127.0.0.1");
  await expect(mail.locator(".mail-facts")).toContainText(/When.*\d{4} \d\d:\d\d:\d\d GMT/);
  await expect(mail.getByRole("link", { name: "Not you? Block this device" })).toBeVisible();
  await audit(page, "the inbox");

  await page.click("#logout");
  await expect(await signedOutNotice(page)).toHaveText("You signed out.");
  await audit(page, "the sign-in page");
  // Only the user this browser remembers, and the server still knows it as, is greeted and
  // prefilled (a fresh browser gets neither: actions.spec.ts).
  await expect(page.locator("h1")).toHaveText("Welcome back, Alice");
  await expect(page.locator("input[name=username]")).toHaveValue("alice");
  expect(await signIn(page, "alice")).toBe(false);
  expect(await inboxSubjects(page)).toHaveLength(1);
});

test("a new browser context is a new device; blocking it from the other cuts it off at once", async ({
  page,
  browser,
}) => {
  await signIn(page, "bob");
  const other = await otherBrowser(browser);
  expect(await signIn(other.page, "bob")).toBe(true);
  // Two Chromes on Linux are told apart by name and key.
  await expect(currentCard(other.page).locator("h2")).toHaveText("Chrome on Linux (2)");
  await open(page, "/devices");
  await expect(page.getByTestId("device-row")).toHaveCount(2);
  await expect(page.getByTestId("device-row").first()).toHaveAttribute("data-current", "true");

  const otherRow = otherCards(page);
  await otherRow.getByRole("button", { name: "Block Chrome on Linux (2)" }).click();
  await expect(otherRow).toHaveAttribute("data-status", "blocked");
  await expect(page.locator(".toast")).toContainText("Blocked Chrome on Linux (2)");

  await other.page.reload();
  await expect(other.page.getByTestId("blocked")).toBeVisible();
  await audit(other.page, "the blocked screen");
  // Signing in again from the blocked device is refused too.
  await open(other.page, "/");
  await submitPassword(other.page, "bob");
  await expect(other.page.locator("#status")).toContainText("blocked");

  // Unblocking does not bring the old session back: the device must sign in again.
  await otherRow.getByRole("button", { name: "Unblock Chrome on Linux (2)" }).click();
  await expect(otherRow).toHaveAttribute("data-status", "active");
  await other.page.goto("/devices");
  await expect(other.page.getByTestId("blocked")).toBeVisible();
  const response = await other.page.evaluate(() => fetch("/api/me").then((r) => r.status));
  expect(response).toBe(401);
  expect(await signIn(other.page, "bob")).toBe(false);
  await other.context.close();
});

test("a stolen session cookie is refused without the device key, and the other browser is told why", async ({
  page,
  context,
  browser,
  playwright,
}) => {
  await signIn(page, "carol");
  const cookies = await context.cookies();
  const sid = cookies.find((c) => c.name === "sid");
  expect(sid?.httpOnly).toBe(true);
  const thief = await playwright.request.newContext();
  const response = await thief.get("/api/devices", { headers: { Cookie: `sid=${sid?.value}` } });
  expect(response.status()).toBe(401);
  expect((await response.json()).error).toBe("ERR_PROOF_MISSING");
  await thief.dispose();
  // The same cookie in a browser that has its own, different key is refused as well.
  const other = await otherBrowser(browser);
  await other.context.addCookies(cookies);
  await other.page.goto("/devices");
  await expect(await signedOutNotice(other.page)).toContainText("belongs to another browser");
  await other.context.close();
  // The owner is unaffected.
  await open(page, "/devices");
  await expect(currentCard(page)).toBeVisible();
});

test("deleting asks first and says what happens; deleting this device signs out and the next sign-in is new", async ({
  page,
}) => {
  expect(await signIn(page, "dave")).toBe(true);
  const row = currentCard(page);
  await row.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete this device?" });
  await expect(dialog).toContainText("signs you out at once");
  await audit(page, "the delete confirmation");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(row).toBeVisible();

  await row.getByRole("button", { name: "Delete" }).click();
  await dialog.getByRole("button", { name: "Delete Chrome on Linux and sign out" }).click();
  await expect(await signedOutNotice(page)).toContainText("You deleted this device");
  expect(await signIn(page, "dave")).toBe(true);
  expect(await inboxSubjects(page)).toHaveLength(2);
});

test("a device deleted elsewhere is told why, and its old cookie stays dead after it registers again", async ({
  page,
  browser,
}) => {
  await signIn(page, "olivia");
  const other = await otherBrowser(browser);
  await signIn(other.page, "olivia");
  const oldCookies = await other.context.cookies();

  // The "Not you? Block this device" link of the second device's message asks to block it.
  await page.goto("/inbox");
  await ready(page);
  await page.getByRole("link", { name: "Not you? Block this device" }).click();
  const confirmBlock = page.getByRole("dialog", { name: "Block Chrome on Linux (2)?" });
  await expect(confirmBlock).toContainText("signed out at once");
  await confirmBlock.getByRole("button", { name: "Cancel" }).click();

  await open(page, "/devices");
  await otherCards(page).getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete Chrome on Linux (2)?" });
  await expect(dialog).toContainText("needs your password and a one-time code");
  await dialog.getByRole("button", { name: "Delete Chrome on Linux (2)" }).click();
  await expect(page.locator(".toast")).toContainText("Deleted Chrome on Linux (2)");
  await expect(page.getByTestId("device-row")).toHaveCount(1);

  await other.page.reload();
  await expect(await signedOutNotice(other.page)).toContainText(
    "removed from your account from another device",
  );
  // Same key, new device record: the old session cookie does not come back to life.
  expect(await signIn(other.page, "olivia")).toBe(true);
  await other.context.clearCookies();
  await other.context.addCookies(oldCookies);
  await other.page.goto("/devices");
  await expect(await signedOutNotice(other.page)).toContainText("removed from your account");
  await other.context.close();
});

test("one device at a time: saved with feedback, removes every other active device, keeps blocked ones blocked, tells the inbox and the removed devices", async ({
  page,
  browser,
}) => {
  await signIn(page, "erin");
  const second = await otherBrowser(browser);
  await signIn(second.page, "erin");
  const stolen = await otherBrowser(browser);
  await signIn(stolen.page, "erin");
  await open(page, "/devices");
  await expect(page.getByTestId("device-row")).toHaveCount(3);
  const stolenRow = page.getByTestId("device-row").filter({ hasText: "Chrome on Linux (3)" });
  await stolenRow.getByRole("button", { name: "Block Chrome on Linux (3)" }).click();
  await expect(stolenRow).toHaveAttribute("data-status", "blocked");
  await expect(page.locator("#single-device-help")).toContainText(
    "removes every other active device of your account and signs it out; blocked devices stay blocked",
  );
  await page.check("#single-device");
  await expect(page.locator("#single-device-saved")).toHaveText(
    "Saved: your next sign-in on a new device removes all others.",
  );
  await page.reload();
  await ready(page);
  await expect(page.locator("#single-device")).toBeChecked();

  const third = await otherBrowser(browser);
  expect(await signIn(third.page, "erin")).toBe(true);
  // Both older active devices are gone, not only the least recently used one; the blocked one
  // stays, blocked, and cannot come back as a new device.
  const rows = third.page.getByTestId("device-row");
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "Chrome on Linux (3)" })).toHaveAttribute(
    "data-status",
    "blocked",
  );
  await open(stolen.page, "/");
  await submitPassword(stolen.page, "erin");
  await expect(stolen.page.locator("#status")).toContainText("blocked");
  await stolen.context.close();
  const subjects = await inboxSubjects(third.page);
  expect(subjects.filter((s) => s.endsWith("was removed from your account")).sort()).toEqual([
    "Chrome on Linux (2) was removed from your account",
    "Chrome on Linux was removed from your account",
  ]);
  for (const removed of [page, second.page]) {
    await removed.reload();
    await expect(await signedOutNotice(removed)).toContainText("One device at a time");
  }
  await second.context.close();
  await third.context.close();
});

test("renames inline, and answers bad input with clear errors", async ({ page, playwright }) => {
  await signIn(page, "frank");
  const card = currentCard(page);
  await card.getByRole("button", { name: "Rename Chrome on Linux" }).click();
  const input = card.getByLabel("New name for Chrome on Linux");
  await expect(input).toBeFocused();
  await input.fill("   ");
  await card.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#status")).toContainText("displayName");
  await input.fill("Work laptop");
  await input.press("Enter");
  await expect(card.locator("h2")).toHaveText("Work laptop");
  // The earlier error does not linger after the success.
  await expect(page.locator("#status")).toBeHidden();
  await expect(page.locator(".toast")).toContainText("Renamed to Work laptop");
  await expect(card.getByRole("button", { name: "Block Work laptop" })).toBeVisible();

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
  await signedOutNotice(page);
  await submitPassword(page, "nobody", "whatever");
  await expect(page.locator("#status")).toContainText("Unknown user or wrong password");
});
