// How the demo looks: a 390 px phone with nothing overflowing, and the README's screenshots
// (written to docs/ with SCREENSHOTS=update, to the test's output folder otherwise).
import { expect, type Page, test } from "@playwright/test";
import {
  audit,
  currentCard,
  open,
  otherBrowser,
  ready,
  shot,
  signIn,
  submitPassword,
} from "./helpers.js";

const PHONE = { width: 390, height: 844 };

/** Nothing is wider than the viewport, and every button is inside it. */
async function fitsWidth(page: Page) {
  const { scrollWidth, outside } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    outside: [...document.querySelectorAll("button, input, a")]
      .filter((e) => (e as HTMLElement).offsetParent !== null)
      .filter((e) => {
        const r = e.getBoundingClientRect();
        return r.left < 0 || r.right > window.innerWidth;
      })
      .map((e) => e.outerHTML.slice(0, 80)),
  }));
  expect(outside).toEqual([]);
  expect(scrollWidth).toBeLessThanOrEqual(PHONE.width);
}

test("on a 390 px phone every page fits, with device cards instead of a table", async ({
  browser,
}) => {
  const phone = await otherBrowser(browser, { viewport: PHONE, isMobile: true, hasTouch: true });
  const { page } = phone;
  await open(page, "/");
  await fitsWidth(page);
  await signIn(page, "rupert");
  const desk = await otherBrowser(browser);
  await signIn(desk.page, "rupert");
  await open(page, "/devices");
  await expect(page.getByTestId("device-row")).toHaveCount(2);
  await fitsWidth(page);
  await audit(page, "the devices page on a phone");
  await currentCard(page).getByRole("button", { name: "Delete" }).click();
  await fitsWidth(page);
  await page.keyboard.press("Escape");
  await open(page, "/inbox");
  await fitsWidth(page);
  await desk.context.close();
  await phone.context.close();
});

test("screenshots: sign-in, the new-device code, the devices page (desktop and phone) and the inbox", async ({
  browser,
}) => {
  const desk = await otherBrowser(browser, { viewport: { width: 1100, height: 760 } });
  const { page } = desk;
  await open(page, "/");
  await page.fill("input[name=username]", "sybil");
  await shot(page, "sign-in");
  await submitPassword(page, "sybil");
  await expect(page.getByTestId("demo-code")).toHaveText(/^\d{6}$/);
  await shot(page, "new-device-code");
  await page.fill("#code-input", (await page.getByTestId("demo-code").textContent()) as string);
  await page.click("#code button");
  await page.waitForURL("**/devices");

  const phone = await otherBrowser(browser, { viewport: PHONE, isMobile: true, hasTouch: true });
  await signIn(phone.page, "sybil");
  await open(page, "/devices");
  await page
    .locator("[data-testid=device-row]:not([data-current])")
    .getByRole("button", { name: "Block" })
    .click();
  await expect(page.locator("[data-status=blocked]")).toHaveCount(1);
  await shot(page, "devices");
  await open(page, "/inbox");
  await shot(page, "inbox");

  await phone.page.reload();
  await expect(phone.page.getByTestId("blocked")).toBeVisible();
  await signIn(phone.page, "trent");
  const other = await otherBrowser(browser);
  await signIn(other.page, "trent");
  await open(phone.page, "/devices");
  await ready(phone.page);
  await shot(phone.page, "devices-phone");
  await other.context.close();
  await phone.context.close();
  await desk.context.close();
});
