// The Express adapter in real Express 4 and Express 5 apps listening on loopback: the framework
// scenarios, with `req.devicebound` read through Express's own Request type (no casts).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express5, { type Request, type Response } from "express";
import express4 from "express4";
import { nodeDeviceBinding } from "./express.js";
import { runFrameworkScenarios, sessionCookie, sidFrom } from "./scenarios.js";

for (const [name, express] of [
  ["Express 4", express4 as unknown as typeof express5],
  ["Express 5", express5],
] as const) {
  runFrameworkScenarios(name, async (binding, sessions) => {
    const app = express();
    const glue = nodeDeviceBinding(binding);
    const getSession = (req: Request) => sessions.get(sidFrom(req.headers.cookie));
    app.use(express.json());
    app.get("/api/challenge", glue.challengeHandler());
    app.post(
      "/api/login",
      glue.handle(async (req: Request, res: Response) => {
        const proof = await glue.verify(req, { singleUseChallenge: true });
        const { device, newDeviceDetected } = await binding.register(req.body.user, proof);
        res.setHeader(
          "set-cookie",
          sessionCookie(sessions.start({ userId: req.body.user, jkt: proof.jkt })),
        );
        res.json({ deviceId: device.id, newDeviceDetected });
      }),
    );
    app.post("/sso/callback", (req: Request, res: Response) => {
      res.setHeader("set-cookie", sessionCookie(sessions.start({ userId: req.body.user })));
      res.json({ ok: true });
    });
    app.get(
      "/api/sso/me",
      glue.requireDevice(getSession, {
        bindSession: (req, jkt) => sessions.bind(sidFrom(req.headers.cookie), jkt),
      }),
      (req: Request, res: Response) => {
        const { device, sessionStatus, newDeviceDetected } = req.devicebound;
        res.json({ deviceId: device?.id, sessionStatus, newDeviceDetected });
      },
    );
    app.use("/api/me", glue.requireDevice(getSession));
    app.get("/api/me", (req: Request, res: Response) => {
      res.json({
        deviceId: req.devicebound.device?.id,
        sessionStatus: req.devicebound.sessionStatus,
      });
    });
    app.use(glue.errorHandler());
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      send: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  });
}
