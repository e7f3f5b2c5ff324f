// The consumer app's CommonJS server, from the packed tarballs: the same routes through require(),
// exercised with a software device from @devicebound/server/testing (installed without vitest).
const { join } = require("node:path");
const { createDeviceBinding } = require("@devicebound/server");
const { nodeDeviceBinding } = require("@devicebound/server/express");
const { createTestDevice } = require("@devicebound/server/testing");
const { sqliteStore } = require("@devicebound/store-sqlite");
const express = require("express");

const app = express();
const server = app.listen(0, "127.0.0.1", async () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const store = sqliteStore({ filename: join(process.argv[2], "devices-cjs.db") });
  const binding = createDeviceBinding({
    secret: "consumer-test-secret-0123456789abcdef",
    store,
    publicOrigin: origin,
  });
  const glue = nodeDeviceBinding(binding);
  app.get("/api/challenge", glue.challengeHandler());
  app.post("/api/login", async (req, res) => {
    try {
      const proof = await glue.verify(req, { singleUseChallenge: true });
      const { newDeviceDetected } = await binding.register("alice", proof);
      res.json({ jkt: proof.jkt, newDeviceDetected });
    } catch (error) {
      await glue.sendError(req, res, error);
    }
  });

  const device = await createTestDevice();
  const results = [];
  for (const _ of [1, 2]) {
    const { challenge } = await (await fetch(`${origin}/api/challenge`)).json();
    const url = `${origin}/api/login`;
    const dpop = await device.proof({ method: "POST", url, nonce: challenge });
    const response = await fetch(url, { method: "POST", headers: { DPoP: dpop } });
    results.push({ status: response.status, ...(await response.json()) });
  }
  // Without a proof the route must refuse: the check above cannot pass by accident.
  const refused = await fetch(`${origin}/api/login`, { method: "POST" });
  console.log(JSON.stringify({ expectedJkt: device.jkt, results, refusedStatus: refused.status }));
  server.close();
  await store.close();
});
