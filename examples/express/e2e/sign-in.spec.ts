// The sign-in page end to end: the one-time code step and its limits, the page before its script
// has run, double submits, and keyboard-only use.
import { expect, type Page, test } from "@playwright/test";
import {
  audit,
  currentCard,
  open,
  otherBrowser,
  password,
  ready,
  signedOutNotice,
  submitPassword,
} from "./helpers.js";

async function codeStep(page: Page, user: string) {
  await open(page, "/");
  await submitPassword(page, user);
  await expect(page.getByTestId("demo-code")).toHaveText(/^\d{6}$/);
  return (await page.getByTestId("demo-code").textContent()) as string;
}

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

test("the code step counts attempts left, and locks the user and the browser key after five wrong codes", async ({
  page,
  browser,
}) => {
  const code = await codeStep(page, "grace");
  await expect(page.locator("#attempts")).toContainText("5 attempts left.");
  await audit(page, "the code step");
  for (let left = 4; left >= 1; left--) {
    await page.fill("#code-input", wrong(code));
    await page.click("#code button");
    await expect(page.locator("#status")).toHaveText(
      `That code is not right. ${left} ${left === 1 ? "attempt" : "attempts"} left.`,
    );
  }
  await page.fill("#code-input", wrong(code));
  await page.click("#code button");
  await expect(page.locator("#status")).toContainText("Too many wrong codes");
  // The step is over: no more guesses here, and "Start over" is offered and focused.
  await expect(page.locator("#code button[type=submit]")).toBeDisabled();
  await expect(page.getByRole("button", { name: "Start over" })).toBeFocused();

  // A new sign-in does not bring five fresh guesses: not for this user on another browser...
  const other = await otherBrowser(browser);
  await open(other.page, "/");
  await submitPassword(other.page, "grace");
  await expect(other.page.locator("#status")).toContainText("Too many wrong codes");
  await other.context.close();
  // ...nor for another user on this browser (its key is locked too).
  await page.getByRole("button", { name: "Start over" }).click();
  await expect(page.locator("#login")).toBeVisible();
  await submitPassword(page, "heidi");
  await expect(page.locator("#status")).toContainText("Too many wrong codes");
  await expect(page.getByTestId("demo-code")).toBeHidden();
});

test("resend gives a new code and retires the old one; start over returns to the password", async ({
  page,
}) => {
  const first = await codeStep(page, "ivan");
  await page.getByRole("button", { name: "Send a new code" }).click();
  await expect(page.locator(".toast")).toContainText("new code");
  await expect(page.getByTestId("demo-code")).not.toHaveText(first);
  const second = (await page.getByTestId("demo-code").textContent()) as string;

  await page.getByRole("button", { name: "Start over" }).click();
  await expect(page.locator("#login")).toBeVisible();
  await expect(page.locator("input[name=password]")).toHaveValue("");
  await expect(page.locator("input[name=username]")).toBeFocused();

  // The cancelled sign-in's code no longer works; a new sign-in gets a working one.
  const third = await codeStep(page, "ivan");
  expect(third).not.toBe(second);
  await page.fill("#code-input", third);
  await page.click("#code button");
  await page.waitForURL("**/devices");
  await ready(page);
  await expect(currentCard(page)).toBeVisible();
});

test("the password never reaches a URL, even when the form is submitted before the script runs", async ({
  page,
}) => {
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await page.route("**/static/app.js", (route) => route.abort());
  await page.goto("/");
  await page.fill("input[name=username]", "judy");
  await page.fill("input[name=password]", password("judy"));
  // Without the script the button stays disabled, so Enter does not submit...
  await expect(page.locator("#login button")).toBeDisabled();
  await page.press("input[name=password]", "Enter");
  // ...and a forced native submit posts the form; the server ignores it and says so.
  await page.locator("#login").evaluate((form: HTMLFormElement) => form.submit());
  await page.waitForURL((url) => url.search === "?notice=not-ready");
  expect(urls.filter((u) => u.includes("judy-demo-pass") || u.includes("password="))).toEqual([]);

  // With the script, the page explains, and a double click sends one sign-in request.
  await page.unroute("**/static/app.js");
  await page.reload();
  await ready(page);
  await expect(page.locator("#status")).toContainText("not ready yet");
  let logins = 0;
  page.on("request", (r) => {
    if (r.url().endsWith("/api/login") && r.method() === "POST") logins++;
  });
  await page.fill("input[name=username]", "judy");
  await page.fill("input[name=password]", password("judy"));
  await page.locator("#login button").dblclick();
  await expect(page.getByTestId("demo-code")).toHaveText(/^\d{6}$/);
  // A stale message is gone once the next step succeeds.
  await expect(page.locator("#status")).toBeHidden();
  expect(logins).toBe(1);
  expect(urls.filter((u) => u.includes("judy-demo-pass"))).toEqual([]);
});

test("keyboard only: sign in, pass the code, rename, and cancel a confirmation", async ({
  page,
}) => {
  await open(page, "/");
  await page.keyboard.press("Tab"); // the brand link
  await page.keyboard.press("Tab");
  await expect(page.locator("input[name=username]")).toBeFocused();
  await page.keyboard.type("mallory");
  await page.keyboard.press("Tab");
  await page.keyboard.type(password("mallory"));
  await page.keyboard.press("Enter");
  await expect(page.locator("#code-input")).toBeFocused();
  await page.keyboard.type((await page.getByTestId("demo-code").textContent()) as string);
  await page.keyboard.press("Enter");
  await page.waitForURL("**/devices");
  await ready(page);

  const card = currentCard(page);
  const rename = card.getByRole("button", { name: "Rename Chrome on Linux" });
  for (let i = 0; i < 10 && !(await rename.evaluate((b) => b === document.activeElement)); i++)
    await page.keyboard.press("Tab");
  await expect(rename).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(card.getByLabel("New name for Chrome on Linux")).toBeFocused();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("Keyboard machine");
  await page.keyboard.press("Enter");
  await expect(card.locator("h2")).toHaveText("Keyboard machine");

  const del = card.getByRole("button", { name: "Delete Keyboard machine" });
  await del.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Delete this device?" });
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(card).toBeVisible();

  // Sign out from the keyboard too.
  await page.locator("#logout").focus();
  await page.keyboard.press("Enter");
  await expect(await signedOutNotice(page)).toHaveText("You signed out.");
});
