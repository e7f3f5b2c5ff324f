// The demo's mail: messages appended to a JSON-lines file instead of being sent, shown on the
// Inbox page.
import { appendFileSync, existsSync, readFileSync } from "node:fs";

export interface Message {
  userId: string;
  at: string;
  subject: string;
  body: string;
}

export function createOutbox(file: string) {
  return {
    send(message: Omit<Message, "at">): void {
      appendFileSync(file, `${JSON.stringify({ ...message, at: new Date().toISOString() })}\n`, {
        mode: 0o600,
      });
    },
    /** The user's messages, newest first. */
    list(userId: string): Message[] {
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Message)
        .filter((m) => m.userId === userId)
        .reverse();
    },
  };
}
