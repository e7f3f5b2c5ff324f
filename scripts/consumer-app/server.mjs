// The consumer app's ESM server, from the packed tarballs: Express + the SQLite store, serving the
// esbuild bundle of page.ts so Chromium can sign in with a device key.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createDeviceBinding } from "@devicebound/server";
import { nodeDeviceBinding } from "@devicebound/server/express";
import { sqliteStore } from "@devicebound/store-sqlite";
import express from "express";

const dataDir = process.argv[2];
const app = express();
const server = app.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  const binding = createDeviceBinding({
    secret: "consumer-test-secret-0123456789abcdef",
    store: sqliteStore({ filename: join(dataDir, "devices.db") }),
    publicOrigin: `http://127.0.0.1:${port}`,
  });
  const glue = nodeDeviceBinding(binding);
  app.use(express.json());
  app.get("/", (_req, res) => {
    res
      .type("html")
      .send('<!doctype html><title>consumer</title><script type="module" src="/page.js"></script>');
  });
  app.get("/page.js", (_req, res) => {
    res.type("js").send(readFileSync(join(dataDir, "page.js")));
  });
  app.get("/api/challenge", glue.challengeHandler());
  app.post("/api/login", async (req, res) => {
    try {
      const proof = await glue.verify(req, { singleUseChallenge: true });
      const { newDeviceDetected } = await binding.register(req.body.userId, proof);
      await glue.addNonce(req, res);
      res.json({ jkt: proof.jkt, newDeviceDetected });
    } catch (error) {
      await glue.sendError(req, res, error);
    }
  });
  console.log(JSON.stringify({ port }));
});
