// What the README snippets assume the application already has.
import type { Express as ExpressApp } from "express";

declare global {
  const app: ExpressApp;
  const request: Request;
  const ipAddress: string;
  const userAgent: string;
  const userId: string;
  const secret: string;
  const credentials: unknown;
  const session: { userId: string; jkt: string };
  function checkPassword(body: unknown): Promise<{ id: string }>;
  function sendNewSignInEmail(user: unknown, deviceName: string): Promise<void>;
  namespace Express {
    interface Request {
      session: { device?: { userId: string; jkt: string } };
    }
  }
}
