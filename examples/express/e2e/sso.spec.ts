// Simulated single sign-on: the provider's redirect brings a session with no device and no
// proof; the next request with a proof binds it to this browser's key, with the code step for a
// new device, and only then is anything granted.
import { expect, test } from "@playwright/test";
import {
  audit,
  inboxSubjects,
  open,
  otherBrowser,
  password,
  providerSignIn,
  ready,
} from "./helpers.js";

test("a new browser signs in through the provider, passes the code step, and lands on its devices", async ({
  page,
  context,
}) => {
  await page.goto("/sso/start"); // another site: no app script, so no ready mark
  await audit(page, "the identity provider's sign-in");
  await providerSignIn(page, "yolanda");
  // Back in the app with a session that has no device: the bind request asks for the code.
  const code = page.getByTestId("demo-code");
  await expect(code).toHaveText(/^\d{6}$/);
  // The SSO session is used up by the binding, and no session is granted before the code step.
  expect((await context.cookies()).map((c) => c.name)).toEqual([]);
  expect(await page.evaluate(() => fetch("/api/devices").then((r) => r.status))).toBe(401);
  await page.fill("#code-input", (await code.textContent()) ?? "");
  await page.click("#code button");
  await page.waitForURL("**/devices");
  await ready(page);
  await expect(page.getByTestId("device-row")).toHaveCount(1);
  await expect(page.getByTestId("device-row").first()).toHaveAttribute("data-current", "true");
  expect((await context.cookies()).map((c) => c.name)).toEqual(["sid"]);
  expect(await inboxSubjects(page)).toContain("New sign-in from Chrome on Linux");

  // Signed out and back through the provider: a known browser needs no code.
  await page.click("#logout");
  await page.waitForURL((url) => url.pathname === "/");
  await providerSignIn(page, "yolanda");
  await page.waitForURL("**/devices");
  await ready(page);
  await expect(page.getByTestId("device-row")).toHaveCount(1);
});

test("the provider refuses a wrong password and keeps you there", async ({ page }) => {
  await providerSignIn(page, "heidi", "wrong");
  await page.waitForURL("**/sso/start#provider-error");
  await expect(page.locator("#provider-error")).toBeVisible();
});

test("a copied SSO cookie binds nothing once the browser that held it bound the session, and grants nothing unbound", async ({
  page,
  context,
  browser,
}) => {
  // The provider's answer, taken by the browser's own request context (it shares the cookies).
  const answer = await page.request.post("/sso/callback", {
    form: { username: "ivan", password: password("ivan") },
    maxRedirects: 0,
  });
  expect(answer.status()).toBe(303);
  const sso = (await context.cookies()).find((c) => c.name === "sso");
  expect(sso).toBeTruthy();
  const thief = await otherBrowser(browser);
  await thief.context.addCookies([sso as NonNullable<typeof sso>]);
  // Unbound, the session opens no API route but the binding one.
  expect(await (await thief.page.request.get("/api/me")).status()).toBe(401);

  await open(page, "/?sso=1");
  await expect(page.getByTestId("demo-code")).toHaveText(/^\d{6}$/);
  await open(thief.page, "/?sso=1");
  await expect(thief.page.locator("#status")).toContainText("expired");
  await expect(thief.page.getByTestId("demo-code")).toBeHidden();
  await thief.context.close();
});
