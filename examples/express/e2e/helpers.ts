// Shared steps of the demo's end-to-end suites. Pages set <html data-ready> once their handlers
// are attached; every step waits for it, so no click lands before the page script.
import AxeBuilder from "@axe-core/playwright";
import { type Browser, expect, type Page, test } from "@playwright/test";

export const password = (user: string) => `${user}-demo-pass`;

export async function ready(page: Page) {
  await page.locator("html[data-ready]").waitFor();
}

export async function open(page: Page, path: string) {
  await page.goto(path);
  await ready(page);
}

/** Fills and submits the password step (the page must be ready). */
export async function submitPassword(page: Page, user: string, pass = password(user)) {
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", pass);
  await page.click("#login button");
}

/** Signs in; passes the one-time code step when the device is new. Returns whether it was. */
export async function signIn(page: Page, user: string): Promise<boolean> {
  await open(page, "/");
  await submitPassword(page, user);
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
  await ready(page);
  await expect(page.getByTestId("device-row").first()).toBeVisible();
  return outcome === "new";
}

/** The inbox's subjects, newest first. */
export async function inboxSubjects(page: Page): Promise<string[]> {
  await open(page, "/inbox");
  return page.getByTestId("message").locator(".subject").allTextContents();
}

/** A second browser profile: its own IndexedDB, so its own device key. */
export async function otherBrowser(browser: Browser | null, options = {}) {
  if (!browser) throw new Error("no browser");
  const context = await browser.newContext(options);
  return { context, page: await context.newPage() };
}

/** axe-core on the page as it is now: no serious or critical findings. */
export async function audit(page: Page, what: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(bad, `accessibility findings on ${what}`).toEqual([]);
}

export const currentCard = (page: Page) => page.locator("[data-testid=device-row][data-current]");
export const otherCards = (page: Page) =>
  page.locator("[data-testid=device-row]:not([data-current])");

/** The text the sign-in page shows after a sign-out, once it is ready. */
export async function signedOutNotice(page: Page) {
  await page.waitForURL((url) => url.pathname === "/");
  await ready(page);
  return page.locator("#status");
}

/** Signs in through the stand-in identity provider (simulated SSO); back in the app after. */
export async function providerSignIn(page: Page, user: string, pass = password(user)) {
  await open(page, "/");
  await page.getByRole("link", { name: "Sign in with a provider" }).click();
  await page.waitForURL("**/sso/start");
  const provider = page.locator("#provider");
  await provider.locator("input[name=username]").fill(user);
  await provider.locator("input[name=password]").fill(pass);
  await provider.getByRole("button").click();
}

const DOCS = new URL("../docs/", import.meta.url).pathname;

/** A full-page screenshot for the README: into docs/ with SCREENSHOTS=update, else test output. */
export async function shot(page: Page, name: string) {
  const path =
    process.env.SCREENSHOTS === "update"
      ? `${DOCS}${name}.png`
      : test.info().outputPath(`${name}.png`);
  // Relative times and toasts change between runs; the picture should not depend on them.
  await page.locator(".toast").evaluateAll((nodes) => {
    for (const n of nodes) n.remove();
  });
  await page.screenshot({ path, fullPage: true });
}
