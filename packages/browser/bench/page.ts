// Runs inside Chromium: times a bare ECDSA P-256 sign, a whole warm proof, a whole
// fetchWithDevice call with a stub fetch, and the first proof after a page load.
import { fetchWithDevice, initFetchWithDevice } from "../src/index.js";
import { createSigner, generateKeyPair } from "../src/proof.js";

const NONCE = "n".repeat(43);

// performance.now() is coarse and the machine is shared: time batches, interleave the
// contenders batch by batch so they see the same load, and keep each one's median per call.
async function medianMs(
  contenders: Record<string, () => Promise<unknown>>,
  batch = 50,
  rounds = 60,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (const [name, fn] of Object.entries(contenders)) {
    samples[name] = [];
    for (let i = 0; i < batch * 4; i++) await fn();
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const start = performance.now();
      for (let i = 0; i < batch; i++) await fn();
      samples[name]?.push((performance.now() - start) / batch);
    }
  }
  const medians: Record<string, number> = {};
  for (const [name, values] of Object.entries(samples)) {
    values.sort((x, y) => x - y);
    medians[name] = values[values.length >> 1] as number;
  }
  return medians;
}

function init(databaseName: string) {
  initFetchWithDevice({
    databaseName,
    fetchChallenge: async () => ({ challenge: NONCE, expiresAt: new Date(Date.now() + 3_600_000) }),
    fetch: async () => new Response(null, { status: 204 }),
  });
}

Object.assign(window, {
  async benchWarm() {
    const subtle = crypto.subtle;
    const keyPair = await generateKeyPair(subtle, "ES256");
    const claims = () => ({
      jti: crypto.randomUUID(),
      htm: "POST",
      htu: `${location.origin}/api/orders`,
      iat: Math.floor(Date.now() / 1000),
      nonce: NONCE,
    });
    const signer = await createSigner({ keyPair, alg: "ES256" }, subtle);
    // The bare sign covers the same bytes a proof signs.
    const input = new TextEncoder().encode((await signer.sign(claims())).split(".", 2).join("."));
    init("bench-warm");
    await fetchWithDevice("/api/orders", { method: "POST", body: "{}" });
    const { bare, proof, request } = await medianMs({
      bare: () => subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, input),
      proof: () => signer.sign(claims()),
      request: () => fetchWithDevice("/api/orders", { method: "POST", body: "{}" }),
    });
    return { bare, proof, request, isolated: crossOriginIsolated };
  },
  async benchFirst() {
    const start = performance.now();
    init("bench-first");
    await fetchWithDevice("/api/orders", { method: "POST", body: "{}" });
    return performance.now() - start;
  },
});
