// The real-browser suite's page: the package bundled from src with esbuild, served on loopback with
// a page that drives it, identical for every engine. Tests talk to it through `window.page`.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from "jose";

/** What `onDeviceKey` reported, and the key's thumbprint. */
export interface PageKey {
  jkt: string;
  event: { status: string; jkt: string; previousJkt: string | null; persisted: boolean };
}

/** The stored IndexedDB record as page script sees it. */
export interface StoredRecord {
  alg: string;
  privateIsCryptoKey: boolean;
  extractable: boolean;
  algorithm: { name: string; namedCurve?: string };
  privateUsages: string[];
  publicUsages: string[];
  exportRejected: boolean;
}

// `?db=` names the database; `?alg=EdDSA` asks for Ed25519; `?wait` holds the page until a
// BroadcastChannel message (sent by `page.go()` in one tab) starts every tab at once.
const PAGE = `<!doctype html><meta charset="utf-8"><title>devicebound</title><script type="module">
import * as device from "/devicebound.js";
const params = new URLSearchParams(location.search);
const db = params.get("db");
const sent = [];
let reported;
const event = new Promise((resolve) => (reported = resolve));
const start = () =>
  (window.ready ??= (device.initFetchWithDevice({
    databaseName: db,
    algorithm: params.get("alg") || undefined,
    fetchChallenge: async () => ({ challenge: "engine-challenge", expiresAt: new Date(Date.now() + 60000) }),
    // The page's origin is the test server: keep what would be sent instead of sending it.
    fetch: async (input, init) => (sent.push(new Headers(init?.headers).get("dpop")), new Response("ok")),
    onDeviceKey: reported,
  }), device.getDeviceThumbprint().then(async (jkt) => ({ jkt, event: await event }))));
const channel = new BroadcastChannel("go:" + db);
channel.onmessage = start;
const record = (write) => new Promise((resolve, reject) => {
  const open = indexedDB.open(db);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction("keys", write ? "readwrite" : "readonly");
    const request = write ? tx.objectStore("keys").put(write, "device") : tx.objectStore("keys").get("device");
    tx.oncomplete = () => (open.result.close(), resolve(request.result));
    tx.onerror = tx.onabort = () => reject(tx.error);
  };
});
window.page = {
  start,
  go: () => (channel.postMessage("go"), start()),
  async sign(path) {
    await device.fetchWithDevice(path, { method: "POST", body: "{}" });
    return sent.at(-1);
  },
  forget: () => device.forgetDevice(),
  features: () => ({
    locks: typeof navigator.locks?.request === "function",
    persist: typeof navigator.storage?.persist === "function",
    secure: isSecureContext,
  }),
  async stored() {
    const { keyPair, alg } = await record();
    const { privateKey, publicKey } = keyPair;
    const rejects = (format) => crypto.subtle.exportKey(format, privateKey).then(() => false, () => true);
    return {
      alg,
      privateIsCryptoKey: privateKey instanceof CryptoKey,
      extractable: privateKey.extractable,
      algorithm: { name: privateKey.algorithm.name, namedCurve: privateKey.algorithm.namedCurve },
      privateUsages: privateKey.usages,
      publicUsages: publicKey.usages,
      exportRejected: (await rejects("jwk")) && (await rejects("pkcs8")),
    };
  },
  // What an XSS can do: make a key pair it can export (and keep a copy), and store it in place of
  // the device key. Resolves the planted public JWK.
  async plant() {
    const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const attackersCopy = await crypto.subtle.exportKey("pkcs8", keyPair.privateKey);
    await record({ keyPair, alg: "ES256" });
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
    return { kty, crv, x, y };
  },
};
if (!params.has("wait")) start();
</script>`;

export interface DevicePageServer {
  origin: string;
  close(): Promise<void>;
}

export async function serveDevicePage(): Promise<DevicePageServer> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
  });
  const js = bundle.outputFiles[0]?.text ?? "";
  const server = createServer((req, res) => {
    const isScript = req.url?.startsWith("/devicebound.js");
    res.writeHead(200, {
      "content-type": isScript ? "text/javascript" : "text/html",
      "cache-control": "no-store",
    });
    res.end(isScript ? js : PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Verifies a proof made in a browser with jose, independently of this package. */
export async function verifyProof(proof: string, alg: "ES256" | "EdDSA") {
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
    typ: "dpop+jwt",
    algorithms: [alg],
  });
  return { claims: payload, jkt: await calculateJwkThumbprint(protectedHeader.jwk as JWK) };
}

export const thumbprint = (jwk: JWK) => calculateJwkThumbprint(jwk);
