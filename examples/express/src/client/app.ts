// The demo's page script: every API call goes through fetchWithDevice, so each carries a DPoP
// proof from this browser's non-extractable key.
import {
  browserSupportsDeviceKeys,
  fetchWithDevice,
  getDeviceThumbprint,
  initFetchWithDevice,
} from "@devicebound/browser";

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

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
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
  const data = (await response.json().catch(() => ({}))) as T & {
    error?: string;
    message?: string;
  };
  if (!response.ok)
    throw new ApiError(response.status, data.error ?? "error", data.message ?? response.statusText);
  return data;
}

function show(selector: string, text: string, kind: "error" | "info" = "error") {
  const el = $(selector);
  el.textContent = text;
  el.className = `notice ${kind}`;
  el.hidden = text === "";
}

/** Sends signed-out or blocked visitors where they belong. */
function handleAuthError(error: unknown): never {
  if (error instanceof ApiError && error.status === 403) {
    document.body.innerHTML = `<main class="card"><h1>This device is blocked</h1><p class="notice error" data-testid="blocked">${error.message}</p><p><a href="/">Back to sign-in</a></p></main>`;
  } else if (error instanceof ApiError && error.status === 401) {
    location.replace("/");
  }
  throw error;
}

async function signInPage() {
  if (!(await browserSupportsDeviceKeys())) {
    show("#status", "This browser cannot keep a device key, so sign-in is disabled.");
    return;
  }
  const me = await api("GET", "/api/me").catch(() => null);
  if (me) return location.replace("/devices");
  const form = $<HTMLFormElement>("#login");
  const codeForm = $<HTMLFormElement>("#code");
  let pendingId = "";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show("#status", "");
    const data = new FormData(form);
    try {
      const result = await api<{ status: string; pendingId?: string; demoCode?: string }>(
        "POST",
        "/api/login",
        {
          username: data.get("username"),
          password: data.get("password"),
        },
      );
      if (result.status === "signed-in") return location.replace("/devices");
      pendingId = result.pendingId ?? "";
      form.hidden = true;
      codeForm.hidden = false;
      $("#demo-code").textContent = result.demoCode ?? "";
      $<HTMLInputElement>("#code-input").focus();
    } catch (error) {
      show("#status", error instanceof Error ? error.message : String(error));
    }
  });
  codeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/api/login/code", { pendingId, code: new FormData(codeForm).get("code") });
      location.replace("/devices");
    } catch (error) {
      show("#status", error instanceof Error ? error.message : String(error));
    }
  });
}

interface DeviceJSON {
  id: string;
  displayName: string;
  status: "active" | "blocked";
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

const when = (iso: string) => new Date(iso).toLocaleString();

async function devicesPage() {
  const me = await api<{ user: { name: string }; settings: { singleDevice: boolean } }>(
    "GET",
    "/api/me",
  ).catch(handleAuthError);
  $("#who").textContent = me.user.name;
  $("#thumbprint").textContent = await getDeviceThumbprint();
  const toggle = $<HTMLInputElement>("#single-device");
  toggle.checked = me.settings.singleDevice;
  toggle.addEventListener("change", () => {
    api("PUT", "/api/settings", { singleDevice: toggle.checked }).catch(handleAuthError);
  });
  await renderDevices();
}

async function renderDevices() {
  const { devices } = await api<{ devices: DeviceJSON[] }>("GET", "/api/devices").catch(
    handleAuthError,
  );
  const rows = $("#devices");
  rows.replaceChildren(
    ...devices.map((d) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "device-row";
      tr.dataset.deviceId = d.id;
      tr.dataset.status = d.status;
      if (d.current) tr.dataset.current = "true";
      const name = document.createElement("td");
      name.textContent = d.displayName;
      if (d.current)
        name.insertAdjacentHTML("beforeend", ' <span class="badge">this device</span>');
      const cells = [when(d.createdAt), when(d.lastSeenAt), d.status].map((text) => {
        const td = document.createElement("td");
        td.textContent = text;
        return td;
      });
      const actions = document.createElement("td");
      /** `run` resolves false when it navigated away, so there is nothing to re-render. */
      const button = (label: string, run: () => Promise<unknown>) => {
        const b = document.createElement("button");
        b.textContent = label;
        b.addEventListener("click", async () => {
          try {
            if ((await run()) !== false) await renderDevices();
          } catch (error) {
            if (
              error instanceof ApiError &&
              error.status >= 400 &&
              error.status < 500 &&
              error.status !== 401 &&
              error.status !== 403
            ) {
              show("#status", error.message);
            } else handleAuthError(error);
          }
        });
        actions.append(b);
      };
      button("Rename", async () => {
        const displayName = prompt("New name for this device", d.displayName);
        if (displayName !== null) await api("PATCH", `/api/devices/${d.id}`, { displayName });
      });
      if (d.status === "active") button("Block", () => api("POST", `/api/devices/${d.id}/block`));
      else button("Unblock", () => api("POST", `/api/devices/${d.id}/unblock`));
      button("Delete", async () => {
        const result = await api<{ signedOut: boolean }>("DELETE", `/api/devices/${d.id}`);
        if (!result.signedOut) return true;
        location.replace("/");
        return false;
      });
      tr.append(name, ...cells, actions);
      return tr;
    }),
  );
}

async function inboxPage() {
  const { messages } = await api<{ messages: { at: string; subject: string; body: string }[] }>(
    "GET",
    "/api/inbox",
  ).catch(handleAuthError);
  const list = $("#messages");
  list.replaceChildren(
    ...messages.map((m) => {
      const li = document.createElement("li");
      li.dataset.testid = "message";
      const subject = document.createElement("strong");
      subject.textContent = m.subject;
      const meta = document.createElement("small");
      meta.textContent = when(m.at);
      const body = document.createElement("p");
      body.textContent = m.body;
      li.append(subject, " ", meta, body);
      return li;
    }),
  );
  $("#empty").hidden = messages.length > 0;
  document.body.dataset.loaded = "true";
}

document.querySelector("#logout")?.addEventListener("click", async () => {
  await api("POST", "/api/logout").catch(() => {});
  location.replace("/");
});

const pages: Record<string, () => Promise<unknown>> = {
  signin: signInPage,
  devices: devicesPage,
  inbox: inboxPage,
};
void pages[document.body.dataset.page ?? ""]?.().catch((error: unknown) => {
  if (!(error instanceof ApiError))
    show("#status", error instanceof Error ? error.message : String(error));
});
