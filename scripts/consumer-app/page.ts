// The consumer app's page, bundled by esbuild: signs in twice with the device key, so the second
// answer shows the key was kept, and leaves the answers where Chromium's driver can read them.
import { fetchWithDevice, initFetchWithDevice } from "@devicebound/browser";

initFetchWithDevice({
  fetchChallenge: () => fetch("/api/challenge").then((r) => r.json()),
});

async function signIn(): Promise<unknown> {
  const response = await fetchWithDevice("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId: "alice" }),
  });
  return { status: response.status, ...(await response.json()) };
}

const results: unknown[] = [];
try {
  results.push(await signIn(), await signIn());
} catch (error) {
  results.push({ error: String(error) });
}
Object.assign(window, { signInResults: results });
