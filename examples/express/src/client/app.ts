// The demo's page script: every API call goes through fetchWithDevice, so each carries a DPoP
// proof from this browser's non-extractable key. Each page sets <html data-ready> once its
// handlers are attached; until then its buttons stay disabled, so nothing submits natively.
import {
  browserSupportsDeviceKeys,
  fetchWithDevice,
  getDeviceThumbprint,
  initFetchWithDevice,
  rememberedUser,
  rememberUser,
  signAction,
} from "@devicebound/browser";
// Types only: the wire shapes the server sends.
import type { DeviceJSON } from "../demo.js";
import type { AuditEntry, Message } from "../demo-state.js";
import { TRANSFER_ACTION, transferData } from "../transfer.js";

initFetchWithDevice({
  async fetchChallenge() {
    const response = await fetch("/api/challenge", { cache: "no-store" });
    const { challenge, expiresAt } = (await response.json()) as {
      challenge: string;
      expiresAt: number;
    };
    return { challenge, expiresAt: new Date(expiresAt * 1000) };
  },
  fallbackBehavior: "fail",
});

const $ = <T extends HTMLElement = HTMLElement>(selector: string) =>
  document.querySelector(selector) as T;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value !== undefined) node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetchWithDevice(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    throw new ApiError(
      response.status,
      String(data.error ?? "error"),
      String(data.message ?? response.statusText),
      data,
    );
  }
  return data as T;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function show(text: string, kind: "error" | "info" = "error") {
  const status = $("#status");
  status.textContent = text;
  status.className = `notice ${kind}`;
  // Information is announced politely; only errors interrupt.
  status.setAttribute("role", kind === "error" ? "alert" : "status");
  status.hidden = text === "";
}

function toast(text: string) {
  const item = el("div", { class: "toast" }, text);
  $("#toasts").append(item);
  setTimeout(() => item.remove(), 6000);
}

/** Disables the button while `run` is in flight, so a double click sends one request. */
async function busy<T>(button: HTMLButtonElement, run: () => Promise<T>): Promise<T> {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await run();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

function ready() {
  document.documentElement.dataset.ready = "true";
}

/** Why this browser was signed out, shown on the sign-in page (`/?signed-out=<reason>`). */
const SIGNED_OUT: Record<string, string> = {
  "signed-out": "You signed out.",
  "device-deleted":
    "This device was removed from your account from another device, so it was signed out. Sign in to add it back; it will need a one-time code.",
  "device-replaced":
    "This device was removed from your account and signed in again since, so this older session ended. Sign in again.",
  "device-evicted":
    "You signed in on another device, and your setting “One device at a time” removed this one. Sign in to use it again; the other device is then removed in turn.",
  "device-blocked":
    "This device was blocked from another of your devices and signed out. If that was a mistake, unblock it there first, then sign in here.",
  "self-deleted":
    "You deleted this device and were signed out. Signing in here again will need a one-time code.",
  "self-blocked":
    "You blocked this device and were signed out. Unblock it from another of your devices to use it again.",
  mismatch:
    "That session belongs to another browser: its cookie came without a proof from that browser's key, so it was refused. Sign in here to get a session of your own.",
  "not-ready": "The page was not ready yet, so nothing was sent. Please sign in again.",
};

function blockedScreen(text: string) {
  document.title = "Device blocked · devicebound demo";
  $("main").replaceChildren(
    el("h1", {}, "This device is blocked"),
    el("p", { class: "notice error", "data-testid": "blocked" }, text),
    el("p", {}, el("a", { href: "/" }, "Back to sign-in")),
  );
  for (const button of document.querySelectorAll<HTMLButtonElement>("header button"))
    button.disabled = true;
  ready();
}

/** Sends signed-out or blocked visitors where they belong, saying why. */
function handleAuthError(error: unknown): never {
  if (error instanceof ApiError) {
    const reason = error.body.reason;
    if (error.status === 403 || reason === "device-blocked") {
      blockedScreen(
        error.status === 403
          ? "This device is blocked for this account, so it cannot be used."
          : (SIGNED_OUT["device-blocked"] as string),
      );
    } else if (error.code === "signed_out" && typeof reason === "string") {
      location.replace(`/?signed-out=${encodeURIComponent(reason)}`);
    } else if (error.code === "ERR_DEVICE_MISMATCH") {
      location.replace("/?signed-out=mismatch");
    } else if (error.status === 401) {
      location.replace("/");
    }
  }
  throw error;
}

function enableLogout() {
  const logout = $<HTMLButtonElement>("#logout");
  logout.disabled = false;
  logout.addEventListener("click", () =>
    busy(logout, async () => {
      await api("POST", "/api/logout").catch(() => {});
      location.replace("/?signed-out=signed-out");
    }),
  );
}

// --- sign-in -----------------------------------------------------------------------------------

interface CodeStep {
  pendingId?: string;
  demoCode?: string;
  attemptsLeft?: number;
  resendsLeft?: number;
  expiresAt?: string;
}

async function signInPage() {
  const params = new URLSearchParams(location.search);
  const reason = params.get("signed-out") ?? params.get("notice");
  if (reason && SIGNED_OUT[reason]) show(SIGNED_OUT[reason] as string, "info");
  if (location.search) history.replaceState(null, "", "/");

  if (!(await browserSupportsDeviceKeys())) {
    show("This browser cannot keep a device key, so sign-in is disabled.");
    return ready();
  }
  const me = await api("GET", "/api/me").catch(() => null);
  if (me) return location.replace("/devices");
  const fromProvider = params.has("sso");

  // "Welcome back": the user this browser remembers, if the server still knows this device as
  // theirs. The server answers for that one user only.
  const remembered = await rememberedUser().catch(() => null);
  if (remembered && !fromProvider) {
    const known = await api<{ recognized: boolean; name?: string; userId?: string }>(
      "POST",
      "/api/recognize",
      { userId: remembered },
    ).catch(() => null);
    if (known?.recognized) {
      $("h1").textContent = `Welcome back, ${known.name}`;
      $<HTMLInputElement>("#username").value = known.userId ?? "";
    }
  }

  const login = $<HTMLFormElement>("#login");
  const code = $<HTMLFormElement>("#code");
  const loginButton = login.querySelector("button") as HTMLButtonElement;
  const verify = code.querySelector("button[type=submit]") as HTMLButtonElement;
  const resend = $<HTMLButtonElement>("#resend");
  const startOver = $<HTMLButtonElement>("#start-over");
  const codeInput = $<HTMLInputElement>("#code-input");
  let pendingId = "";
  let resendsLeft = 0;

  function attempts(step: CodeStep) {
    resendsLeft = step.resendsLeft ?? resendsLeft;
    const until = step.expiresAt
      ? ` The code works until ${new Date(step.expiresAt).toLocaleTimeString()}.`
      : "";
    $("#attempts").textContent =
      `${step.attemptsLeft} ${step.attemptsLeft === 1 ? "attempt" : "attempts"} left.${until}`;
    resend.disabled = resendsLeft === 0;
  }

  function showCode(step: CodeStep) {
    pendingId = step.pendingId ?? pendingId;
    login.hidden = true;
    code.hidden = false;
    $("#demo-code").textContent = step.demoCode ?? "";
    codeInput.value = "";
    verify.disabled = false;
    attempts(step);
    codeInput.focus();
  }

  function backToPassword() {
    pendingId = "";
    code.hidden = true;
    login.hidden = false;
    $<HTMLInputElement>("#password").value = "";
    $<HTMLInputElement>("#username").focus();
  }

  login.addEventListener("submit", (event) => {
    event.preventDefault();
    if (loginButton.disabled) return;
    show("");
    const data = new FormData(login);
    void busy(loginButton, async () => {
      try {
        const result = await api<CodeStep & { status: string }>("POST", "/api/login", {
          username: data.get("username"),
          password: data.get("password"),
        });
        if (result.status === "signed-in") return location.replace("/devices");
        showCode(result);
      } catch (error) {
        show(message(error));
      }
    });
  });

  code.addEventListener("submit", (event) => {
    event.preventDefault();
    if (verify.disabled) return;
    show("");
    let over = false;
    void busy(verify, async () => {
      try {
        await api("POST", "/api/login/code", { pendingId, code: codeInput.value });
        location.replace("/devices");
      } catch (error) {
        show(message(error));
        if (error instanceof ApiError && error.code === "wrong_code") {
          attempts({ ...(error.body as CodeStep) });
          codeInput.select();
        } else if (error instanceof ApiError && error.status < 500) {
          over = true;
        }
      }
    }).then(() => {
      if (!over) return;
      // Locked out or expired: this code step is over; only "Start over" is left.
      $("#attempts").textContent = "";
      verify.disabled = true;
      resendsLeft = 0;
      resend.disabled = true;
      startOver.focus();
    });
  });

  resend.addEventListener("click", () =>
    busy(resend, async () => {
      show("");
      try {
        showCode(await api<CodeStep>("POST", "/api/login/resend", { pendingId }));
        toast("We sent you a new code. The old one no longer works.");
      } catch (error) {
        show(message(error));
        resendsLeft = 0;
      }
    }).then(() => {
      resend.disabled = resendsLeft === 0;
    }),
  );

  startOver.addEventListener("click", () => {
    show("");
    void api("POST", "/api/login/cancel", { pendingId }).catch(() => {});
    backToPassword();
  });

  loginButton.disabled = false;
  startOver.disabled = false;
  resend.disabled = false;
  if (fromProvider) {
    // Back from the identity provider with a session that has no device yet: this request,
    // the first with a proof, binds it to this browser's key (a new device gets the code step).
    show("Signed in with your provider. Checking this browser…", "info");
    try {
      const result = await api<CodeStep & { status: string }>("POST", "/api/sso/bind");
      if (result.status === "signed-in") return location.replace("/devices");
      show("");
      showCode(result);
    } catch (error) {
      show(message(error));
    }
  }
  ready();
}

// --- devices -----------------------------------------------------------------------------------

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
function ago(iso: string): string {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  if (Math.abs(seconds) < 60) return "just now";
  for (const [unit, size] of [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ] as const) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

/** A relative time with the exact time on hover (and for screen readers, in `datetime`). */
function time(iso: string, prefix: string) {
  const node = el("time", { datetime: iso, title: new Date(iso).toLocaleString() });
  node.dataset.prefix = prefix;
  node.textContent = `${prefix} ${ago(iso)}`.trim();
  return node;
}

function refreshTimes() {
  for (const node of document.querySelectorAll<HTMLTimeElement>("time[data-prefix]"))
    node.textContent = `${node.dataset.prefix} ${ago(node.dateTime)}`.trim();
}

/** Opens the confirmation dialog; resolves true when the user confirms. */
function confirmAction(title: string, body: string, confirmLabel: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-body").textContent = body;
  $("#confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  dialog.showModal();
  $("#confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

/** Errors of device actions: sign-outs navigate, others are shown. */
function actionFailed(error: unknown) {
  if (error instanceof ApiError && [400, 404, 409].includes(error.status)) show(error.message);
  else if (error instanceof ApiError) handleAuthError(error);
  else show(message(error));
}

interface Settings {
  singleDevice: boolean;
  knownDevicesOnly: boolean;
}

/** A settings checkbox that saves itself and says so. */
function settingToggle(
  id: string,
  name: keyof Settings,
  value: boolean,
  said: (on: boolean) => string,
) {
  const toggle = $<HTMLInputElement>(`#${id}`);
  toggle.checked = value;
  toggle.addEventListener("change", async () => {
    const saved = $(`#${id}-saved`);
    toggle.disabled = true;
    saved.textContent = "Saving…";
    try {
      const { settings } = await api<{ settings: Settings }>("PUT", "/api/settings", {
        [name]: toggle.checked,
      });
      saved.textContent = said(settings[name]);
    } catch (error) {
      toggle.checked = !toggle.checked;
      saved.textContent = "";
      actionFailed(error);
    } finally {
      toggle.disabled = false;
    }
  });
}

async function devicesPage() {
  const me = await api<{
    user: { id: string; name: string; admin: boolean };
    settings: Settings;
    tier: "dbsc" | "dpop";
  }>("GET", "/api/me").catch(handleAuthError);
  $("#who").textContent = me.user.name;
  const tier = $("#tier");
  tier.dataset.tier = me.tier;
  tier.textContent =
    me.tier === "dbsc"
      ? "This session is hardware-bound: besides this browser's key, its cookie is renewed by a key the browser keeps in hardware (DBSC), so a copy of the browser's files cannot keep it going."
      : "This session is bound to this browser's key (DPoP proofs). This browser did not register a hardware-bound session (DBSC).";
  $("#admin-link").hidden = !me.user.admin;
  // For "Welcome back" on the sign-in page next time (forgetDevice forgets it).
  await rememberUser(me.user.id).catch(() => {});
  $("#thumbprint").textContent = await getDeviceThumbprint();
  enableLogout();

  settingToggle("single-device", "singleDevice", me.settings.singleDevice, (on) =>
    on
      ? "Saved: your next sign-in on a new device removes all others."
      : "Saved: you can use several devices.",
  );
  settingToggle("known-only", "knownDevicesOnly", me.settings.knownDevicesOnly, (on) =>
    on
      ? "Saved: only your registered devices can sign in now."
      : "Saved: new devices can sign in, with a one-time code.",
  );
  transferForm(me.user.id);

  const devices = await renderDevices();
  setInterval(refreshTimes, 30_000);
  ready();

  // The "Not you? Block this device" link of a new-sign-in message lands here.
  const blockId = new URLSearchParams(location.search).get("block");
  if (blockId) {
    history.replaceState(null, "", "/devices");
    const target = devices.find((d) => d.id === blockId);
    if (!target) show("That device is no longer on your account.", "info");
    else if (target.status === "blocked") show(`${target.displayName} is already blocked.`, "info");
    else await blockDevice(target, true);
  }
}

/** Blocks `d`; asks first for this device, or when `ask` (the link from a message). */
async function blockDevice(d: DeviceJSON, ask = false) {
  if (d.current) {
    const ok = await confirmAction(
      "Block this device?",
      `You are using ${d.displayName} right now. Blocking it signs you out at once, and this browser cannot sign in to your account again until you unblock it from another device.`,
      `Block ${d.displayName} and sign out`,
    );
    if (!ok) return;
  } else if (ask) {
    const ok = await confirmAction(
      `Block ${d.displayName}?`,
      `${d.displayName} (key ${d.keyId}, signed in from ${d.signedInFrom}) is signed out at once and cannot sign in to your account until you unblock it.`,
      `Block ${d.displayName}`,
    );
    if (!ok) return;
  }
  // Otherwise blocking another device takes one click: Unblock undoes it.
  try {
    const result = await api<{ signedOut: boolean }>("POST", `/api/devices/${d.id}/block`);
    if (result.signedOut) return location.replace("/?signed-out=self-blocked");
    show("");
    toast(`Blocked ${d.displayName}. It was signed out and cannot sign in until you unblock it.`);
    await renderDevices();
  } catch (error) {
    actionFailed(error);
  }
}

async function deleteDevice(d: DeviceJSON) {
  const ok = await confirmAction(
    d.current ? "Delete this device?" : `Delete ${d.displayName}?`,
    d.current
      ? `You are using ${d.displayName} right now. Deleting it signs you out at once; signing in here again will need a one-time code, and this browser will show up as a new device.`
      : `${d.displayName} is signed out at once. If it signs in again, it needs your password and a one-time code, and shows up as a new device. To keep it out for good, block it instead.`,
    d.current ? `Delete ${d.displayName} and sign out` : `Delete ${d.displayName}`,
  );
  if (!ok) return;
  try {
    const result = await api<{ signedOut: boolean }>("DELETE", `/api/devices/${d.id}`);
    if (result.signedOut) return location.replace("/?signed-out=self-deleted");
    show("");
    toast(`Deleted ${d.displayName}. It was signed out.`);
    await renderDevices();
  } catch (error) {
    actionFailed(error);
  }
}

function renameForm(card: HTMLElement, d: DeviceJSON, renameButton: HTMLButtonElement) {
  const heading = card.querySelector("h2") as HTMLElement;
  const input = el("input", {
    id: `rename-${d.id}`,
    name: "displayName",
    value: d.displayName,
    maxlength: "100",
    required: "",
  });
  const save = el("button", { type: "submit", class: "primary" }, "Save");
  const cancel = el("button", { type: "button" }, "Cancel");
  const form = el(
    "form",
    { class: "rename" },
    el("label", { for: `rename-${d.id}` }, `New name for ${d.displayName}`),
    input,
    el("div", { class: "row" }, save, cancel),
  );
  const close = () => {
    form.replaceWith(heading);
    renameButton.hidden = false;
    renameButton.focus();
  };
  cancel.addEventListener("click", close);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (save.disabled) return;
    void busy(save, async () => {
      try {
        const { device } = await api<{ device: DeviceJSON }>("PATCH", `/api/devices/${d.id}`, {
          displayName: input.value,
        });
        show("");
        toast(`Renamed to ${device.displayName}.`);
        await renderDevices();
        (
          document.querySelector(`[data-device-id="${d.id}"] button`) as HTMLElement | null
        )?.focus();
      } catch (error) {
        actionFailed(error);
        input.focus();
      }
    });
  });
  heading.replaceWith(form);
  renameButton.hidden = true;
  input.focus();
  input.select();
}

function deviceCard(d: DeviceJSON) {
  const nameId = `device-${d.id}`;
  const badges = el("div", { class: "badges" });
  if (d.current) badges.append(el("span", { class: "badge current" }, "This device"));
  if (d.hardwareBound)
    badges.append(
      el("span", { class: "badge hardware", "data-testid": "hardware-bound" }, "Hardware-bound"),
    );
  if (d.status === "blocked")
    badges.append(
      el(
        "span",
        { class: "badge blocked" },
        d.blockedByAdmin ? "Blocked by an administrator" : "Blocked",
      ),
    );
  const facts = el(
    "ul",
    { class: "facts" },
    el("li", {}, time(d.lastSeenAt, "Active")),
    el("li", {}, time(d.createdAt, "Added")),
    el("li", {}, `Signed in from ${d.signedInFrom}`),
    el("li", {}, "Key ", el("code", {}, d.keyId)),
  );
  const actions = el("div", { class: "actions" });
  const card = el(
    "li",
    {
      class: `device${d.current ? " is-current" : ""}${d.status === "blocked" ? " is-blocked" : ""}`,
      "data-testid": "device-row",
      "data-device-id": d.id,
      "data-status": d.status,
      "aria-labelledby": nameId,
      ...(d.current ? { "data-current": "true" } : {}),
    },
    el("div", { class: "device-head" }, el("h2", { id: nameId }, d.displayName), badges),
    facts,
    actions,
  );
  /** Each button's accessible name says which device it acts on: "Block Chrome on Linux (2)". */
  const button = (
    label: string,
    run: (b: HTMLButtonElement) => Promise<unknown> | undefined,
    kind = "",
  ) => {
    const b = el(
      "button",
      { type: "button", class: kind, "aria-label": `${label} ${d.displayName}` },
      label,
    );
    b.addEventListener("click", () => void busy(b, async () => run(b)));
    actions.append(b);
    return b;
  };
  button("Rename", (b) => {
    renameForm(card, d, b);
    return undefined;
  });
  if (d.status === "active") button("Block", () => blockDevice(d));
  else
    button("Unblock", async () => {
      try {
        await api("POST", `/api/devices/${d.id}/unblock`);
        show("");
        toast(`Unblocked ${d.displayName}. It has to sign in again to be used.`);
        await renderDevices();
      } catch (error) {
        actionFailed(error);
      }
    });
  button("Delete", () => deleteDevice(d), "danger");
  return card;
}

async function renderDevices(): Promise<DeviceJSON[]> {
  const { devices } = await api<{ devices: DeviceJSON[] }>("GET", "/api/devices").catch(
    handleAuthError,
  );
  $("#devices").replaceChildren(...devices.map(deviceCard));
  return devices;
}

// --- inbox -------------------------------------------------------------------------------------

async function inboxPage() {
  const { messages } = await api<{ messages: Message[] }>("GET", "/api/inbox").catch(
    handleAuthError,
  );
  enableLogout();
  $("#messages").replaceChildren(
    ...messages.map((m, i) => {
      const details = el("details", { class: "message" });
      details.open = i === 0;
      const table = el(
        "table",
        { class: "mail-facts" },
        el(
          "tbody",
          {},
          ...m.details.map(([label, value]) =>
            el("tr", {}, el("th", { scope: "row" }, label), el("td", {}, value)),
          ),
        ),
      );
      details.append(
        el(
          "summary",
          {},
          el("span", { class: "from" }, "devicebound demo security"),
          el("span", { class: "subject" }, m.subject),
          time(m.at, ""),
        ),
        el(
          "div",
          { class: "mail-body" },
          ...m.paragraphs.slice(0, 2).map((p) => el("p", {}, p)),
          table,
          ...m.paragraphs.slice(2).map((p) => el("p", {}, p)),
          ...(m.action
            ? [el("p", {}, el("a", { class: "button", href: m.action.href }, m.action.label))]
            : []),
        ),
      );
      return el("li", { "data-testid": "message" }, details);
    }),
  );
  $("#empty").hidden = messages.length > 0;
  setInterval(refreshTimes, 30_000);
  ready();
}

// --- a high-risk action -------------------------------------------------------------------------

function transferForm(self: string) {
  const form = $<HTMLFormElement>("#transfer");
  const to = $<HTMLSelectElement>("#transfer-to");
  for (const name of ["alice", "bob", "carol", "dave", "erin"].filter((u) => u !== self))
    to.append(el("option", { value: name }, name[0]?.toUpperCase() + name.slice(1)));
  const button = form.querySelector("button") as HTMLButtonElement;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (button.disabled) return;
    const amount = Number($<HTMLInputElement>("#transfer-amount").value);
    const result = $("#transfer-result");
    result.replaceChildren();
    void busy(button, async () => {
      try {
        // The device signs exactly what is sent: the same string the server rebuilds.
        const token = await signAction(TRANSFER_ACTION, { data: transferData(to.value, amount) });
        const done = await api<{
          sent: { to: string; amount: number };
          signed: {
            action: string;
            data: string;
            device: string;
            keyId: string;
            expiresAt: string;
          };
        }>("POST", "/api/transfer", { to: to.value, amount, token });
        toast(`Sent ${done.sent.amount} to ${done.sent.to}`);
        result.replaceChildren(
          el("p", {}, `Sent ${done.sent.amount} to ${done.sent.to}. What this device signed:`),
          el(
            "p",
            { class: "signed", "data-testid": "signed" },
            `action “${done.signed.action}”, data ${done.signed.data}, by ${done.signed.device} (key ${done.signed.keyId}), valid until ${new Date(done.signed.expiresAt).toLocaleTimeString()}, once.`,
          ),
        );
      } catch (error) {
        if (error instanceof ApiError && error.status < 500 && error.status !== 401)
          result.replaceChildren(el("p", { class: "notice error", role: "alert" }, error.message));
        else actionFailed(error);
      }
    });
  });
  button.disabled = false;
}

// --- administrator ---------------------------------------------------------------------------

interface AdminDevice extends DeviceJSON {
  userId: string;
  userName: string;
  userDevices: number;
}

async function adminPage() {
  enableLogout();
  const form = $<HTMLFormElement>("#filter");
  const searchButton = form.querySelector("button") as HTMLButtonElement;
  const body = $("#all-devices");
  const next = $<HTMLButtonElement>("#next-page");
  const first = $<HTMLButtonElement>("#first-page");
  let cursor = "";
  let nextCursor: string | null = null;

  async function load() {
    const params = new URLSearchParams({
      query: $<HTMLInputElement>("#query").value,
      status: $<HTMLSelectElement>("#status-filter").value,
      cursor,
      // Page size: 10, or what the page's own URL asks for (?limit=2).
      limit: new URLSearchParams(location.search).get("limit") ?? "10",
    });
    const page = await api<{ devices: AdminDevice[]; nextCursor: string | null }>(
      "GET",
      `/api/admin/devices?${params}`,
    );
    nextCursor = page.nextCursor;
    $("#empty").hidden = page.devices.length > 0;
    body.replaceChildren(...page.devices.map(adminRow));
  }

  function adminRow(d: AdminDevice) {
    const label = `${d.displayName} of ${d.userName}`;
    const act = async (action: "block" | "unblock" | "delete", button: HTMLButtonElement) => {
      if (
        action === "delete" &&
        !(await confirmAction(
          `Delete ${label}?`,
          `${d.userName} is told, the device is signed out at once, and it needs a one-time code to sign in again.`,
          `Delete ${label}`,
        ))
      )
        return;
      await busy(button, async () => {
        try {
          const path = `/api/admin/devices/${encodeURIComponent(d.userId)}/${encodeURIComponent(d.id)}`;
          await api(
            action === "delete" ? "DELETE" : "POST",
            action === "delete" ? path : `${path}/${action}`,
          );
          toast(
            `${action === "delete" ? "Deleted" : action === "block" ? "Blocked" : "Unblocked"} ${label}`,
          );
          await load();
          paging();
        } catch (error) {
          actionFailed(error);
        }
      });
    };
    const button = (action: "block" | "unblock" | "delete", text: string) => {
      const b = el("button", { type: "button", "aria-label": `${text} ${label}` }, text);
      b.addEventListener("click", () => void act(action, b));
      return b;
    };
    return el(
      "tr",
      { "data-testid": "admin-row", "data-user": d.userId, "data-status": d.status },
      el(
        "td",
        {},
        `${d.userName} (${d.userDevices} ${d.userDevices === 1 ? "device" : "devices"})`,
      ),
      el("td", {}, d.displayName, " ", el("code", {}, d.keyId)),
      el("td", {}, d.status),
      el("td", {}, time(d.lastSeenAt, "Active")),
      el(
        "td",
        {},
        d.status === "blocked" ? button("unblock", "Unblock") : button("block", "Block"),
        " ",
        button("delete", "Delete"),
      ),
    );
  }

  // After busy() gave the button back: paging buttons say whether there is a page to go to.
  const paging = () => {
    next.disabled = !nextCursor;
    first.disabled = cursor === "";
  };
  const go = (button: HTMLButtonElement, to: string) => {
    cursor = to;
    void busy(button, load).catch(actionFailed).finally(paging);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(searchButton, "");
  });
  next.addEventListener("click", () => go(next, nextCursor ?? ""));
  first.addEventListener("click", () => go(first, ""));
  try {
    await load();
  } catch (error) {
    return notAdmin(error);
  }
  paging();
  searchButton.disabled = false;
  ready();
}

/** Other users get a plain refusal on the administrator's pages. */
function notAdmin(error: unknown) {
  if (!(error instanceof ApiError && error.code === "not_admin")) handleAuthError(error);
  show("Only the administrator can see this page.");
  for (const node of document.querySelectorAll("table, form, .row")) node.remove();
  ready();
}

async function auditPage() {
  enableLogout();
  let entries: AuditEntry[];
  try {
    ({ entries } = await api<{ entries: AuditEntry[] }>("GET", "/api/admin/audit"));
  } catch (error) {
    return notAdmin(error);
  }
  $("#empty").hidden = entries.length > 0;
  $("#audit-entries").replaceChildren(
    ...entries.map((e) =>
      el(
        "tr",
        { "data-testid": "audit-row" },
        el("td", {}, time(e.at, "")),
        el("td", {}, e.admin),
        el("td", {}, e.action),
        el("td", {}, `${e.deviceName} of ${e.userId}`),
      ),
    ),
  );
  ready();
}

const pages: Record<string, () => Promise<unknown>> = {
  signin: signInPage,
  devices: devicesPage,
  inbox: inboxPage,
  admin: adminPage,
  audit: auditPage,
};
void pages[document.body.dataset.page ?? ""]?.().catch((error: unknown) => {
  if (!(error instanceof ApiError)) show(message(error));
});
