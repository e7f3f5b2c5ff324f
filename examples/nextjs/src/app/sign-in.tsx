"use client";
// Sign-in with the device key: every request goes through useDevice().fetch, so it carries a
// proof; a new device gets the one-time code step.
import { useDevice } from "@devicebound/react";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";

interface Answer {
  status?: string;
  pendingId?: string;
  demoCode?: string;
  error?: string;
  message?: string;
}

export function SignIn() {
  const device = useDevice();
  const router = useRouter();
  const [pending, setPending] = useState<{ pendingId: string; demoCode: string } | null>(null);
  const [message, setMessage] = useState("");

  async function post(path: string, payload: unknown): Promise<Answer | null> {
    const response = await device.fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const answer = (await response.json()) as Answer;
    if (response.ok) return answer;
    setMessage(
      answer.error === "ERR_DEVICE_BLOCKED"
        ? "This device is blocked for this account."
        : (answer.message ?? answer.error ?? "Sign-in failed."),
    );
    return null;
  }

  async function signIn(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setMessage("");
    const answer = await post("/api/login", {
      username: form.get("username"),
      password: form.get("password"),
    });
    if (answer?.status === "code-required" && answer.pendingId && answer.demoCode) {
      setPending({ pendingId: answer.pendingId, demoCode: answer.demoCode });
    } else if (answer?.status === "signed-in") {
      router.push("/devices");
    }
  }

  async function confirm(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!pending) return;
    const code = new FormData(event.currentTarget).get("code");
    const answer = await post("/api/login/code", { pendingId: pending.pendingId, code });
    if (answer?.status === "signed-in") router.push("/devices");
  }

  return (
    <>
      <form id="login" onSubmit={signIn}>
        <input name="username" placeholder="username" autoComplete="username" required />
        <input name="password" type="password" placeholder="password" required />
        <button type="submit">Sign in</button>
      </form>
      {pending && (
        <form id="code" onSubmit={confirm}>
          <p>
            New device: enter the code we sent you (demo:{" "}
            <span data-testid="demo-code">{pending.demoCode}</span>)
          </p>
          <input id="code-input" name="code" inputMode="numeric" required />
          <button type="submit">Confirm</button>
        </form>
      )}
      <p id="status" role="status">
        {message}
      </p>
      <p>
        This browser's key: <span data-testid="key-status">{device.status}</span>
      </p>
    </>
  );
}
