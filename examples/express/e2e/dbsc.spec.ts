// Hardware-bound sessions (DBSC) end to end: the demo over HTTPS (`HTTPS=1`) in Debian's
// Chromium with the DBSC switches (scripts/chromium.mjs), the certificate trusted by its SPKI.
// Chromium registers a key at sign-in and refreshes the short-lived bound cookie by itself; the
// server reports the `dbsc` tier. This instance has its own data dir, so users repeat here.
import { type BrowserContext, chromium, expect, type Page, request, test } from "@playwright/test";
import {
  chromiumWithoutDbscLaunchOptions,
  DBSC_CHROMIUM_MAJOR,
  DBSC_FEATURES,
} from "../../../scripts/chromium.mjs";
import { open, otherBrowser, otherCards, shot, signedOutNotice, signIn } from "./helpers.js";

const COOKIE_SECONDS = Number(process.env.E2E_DBSC_COOKIE_SECONDS);
const BOUND_COOKIE = "__Host-devicebound-dbsc";

const tierShown = (page: Page) => page.getByTestId("tier").getAttribute("data-tier");

/** Reloads the devices page until it reports `tier` (Chromium registers in the background). */
async function untilTier(page: Page, tier: "dbsc" | "dpop", why: string) {
  await expect
    .poll(
      async () => {
        await open(page, "/devices");
        return tierShown(page);
      },
      { message: why, timeout: 30_000, intervals: [250, 500, 1000] },
    )
    .toBe(tier);
}

const boundCookie = async (context: BrowserContext) =>
  (await context.cookies()).find((cookie) => cookie.name === BOUND_COOKIE);

const REGISTERS = `Chromium ${DBSC_CHROMIUM_MAJOR} with ${DBSC_FEATURES.join(", ")} to register a hardware-bound session at sign-in; if this build no longer honours the switches, update scripts/chromium.mjs`;

test("signing in over HTTPS starts a hardware-bound session: tier dbsc, shown on the devices page, refreshed by the browser, and copied cookies do not keep it", async ({
  page,
  context,
  baseURL,
}) => {
  await signIn(page, "alice");
  await untilTier(page, "dbsc", REGISTERS);
  await expect(page.getByTestId("tier")).toContainText("hardware-bound");
  const card = page.locator("[data-testid=device-row][data-current]");
  await expect(card.getByTestId("hardware-bound")).toHaveText("Hardware-bound");
  const first = await boundCookie(context);
  expect(first, "the bound cookie").toBeDefined();
  expect(first).toMatchObject({ secure: true, httpOnly: true, path: "/", sameSite: "Lax" });

  // Past the cookie's lifetime the browser refreshes it (signing the server's challenge with its
  // DBSC key) before the request goes out: the page keeps working, on the same tier.
  await page.waitForTimeout((COOKIE_SECONDS + 1) * 1000);
  await open(page, "/devices");
  expect(await tierShown(page)).toBe("dbsc");
  const refreshed = await boundCookie(context);
  expect(refreshed?.value).not.toBe(first?.value);
  expect(refreshed?.expires).toBeGreaterThan(first?.expires ?? 0);

  // Malware copies every cookie, and even a proof the page signed (as if it had copied the
  // DPoP key too): the proof is taken from the browser's next request, which never arrives.
  const copied = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  const userAgent = await page.evaluate(() => navigator.userAgent);
  let proof = "";
  await page.route("**/api/me", async (route) => {
    proof = (await route.request().headerValue("dpop")) ?? "";
    await route.abort();
  });
  await page.goto("/devices");
  await expect.poll(() => proof).not.toBe("");
  await page.unroute("**/api/me");

  const outside = await request.newContext({ baseURL: baseURL as string, ignoreHTTPSErrors: true });
  const me = (headers: Record<string, string>) =>
    outside.get("/api/me", { headers: { cookie: copied, "user-agent": userAgent, ...headers } });
  // The cookies alone: no proof.
  const bare = await me({});
  expect(bare.status()).toBe(401);
  expect((await bare.json()).error).toBe("ERR_PROOF_MISSING");
  // Cookies and the proof, once the copied bound cookie has expired: the thief has no DBSC key
  // to refresh it, and the session registered one, so this is a copied session.
  await new Promise((resolve) => setTimeout(resolve, (COOKIE_SECONDS + 1) * 1000));
  const stolen = await me({ dpop: proof });
  expect(stolen.status()).toBeGreaterThanOrEqual(401);
  expect((await stolen.json()).error).toBe("ERR_DBSC_COOKIE_MISSING");
  await outside.dispose();

  // The browser itself carries on, until it signs out: that ends the DBSC session and removes
  // the bound cookie in the same answer.
  await open(page, "/devices");
  expect(await tierShown(page)).toBe("dbsc");
  await page.click("#logout");
  await expect(await signedOutNotice(page)).toHaveText("You signed out.");
  expect(await boundCookie(context)).toBeUndefined();
});

test("blocking a device from another browser ends its hardware-bound session: signed out, and Chromium drops the bound cookie", async ({
  page,
  context,
  browser,
}) => {
  await signIn(page, "bob");
  await untilTier(page, "dbsc", REGISTERS);

  const second = await otherBrowser(browser, { viewport: { width: 1100, height: 760 } });
  await signIn(second.page, "bob");
  await untilTier(second.page, "dbsc", REGISTERS);
  const first = otherCards(second.page);
  await expect(first.getByTestId("hardware-bound")).toBeVisible();
  await shot(second.page, "devices-dbsc");
  expect(await boundCookie(context), "the first browser's bound cookie").toBeDefined();
  await first.getByRole("button", { name: /^Block / }).click();
  await expect(first).toHaveAttribute("data-status", "blocked");
  await open(second.page, "/devices");
  await expect(otherCards(second.page).getByTestId("hardware-bound")).toHaveCount(0);

  // The blocked browser is refused at once...
  await open(page, "/devices");
  await expect(page.getByTestId("blocked")).toBeVisible();
  // ...and at its next refresh the server answers that the session is over: Chromium deletes
  // the bound cookie.
  await expect
    .poll(
      async () => {
        await page.goto("/");
        return (await boundCookie(context)) === undefined;
      },
      { timeout: 30_000, intervals: [1000] },
    )
    .toBe(true);
  // For good: a page load a whole cookie lifetime later brings no refresh and no cookie back.
  await page.waitForTimeout((COOKIE_SECONDS + 1) * 1000);
  await page.goto("/");
  expect(await boundCookie(context)).toBeUndefined();
  await second.context.close();
});

test("a Chromium without DBSC signs in the same way and is served on the dpop tier", async () => {
  const plain = await chromium.launch(
    chromiumWithoutDbscLaunchOptions(process.env.E2E_DBSC_SPKI as string),
  );
  try {
    const page = await plain.newPage({ baseURL: test.info().project.use.baseURL as string });
    await signIn(page, "carol");
    await untilTier(page, "dpop", "a browser without DBSC");
    await expect(page.getByTestId("hardware-bound")).toHaveCount(0);
    expect(await boundCookie(page.context())).toBeUndefined();
    // Still dpop a moment later: nothing registered in the background.
    await page.waitForTimeout(1000);
    await open(page, "/devices");
    expect(await tierShown(page)).toBe("dpop");
  } finally {
    await plain.close();
  }
});
