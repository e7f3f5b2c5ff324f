// The devices page: the server checks the session's device before rendering anything; the list
// itself is fetched by the browser with proofs (devices.tsx).
import { redirect } from "next/navigation";
import { sessionDevice } from "@/lib/session";
import { signOut } from "../actions";
import { Devices } from "./devices";

export default async function DevicesPage() {
  const current = await sessionDevice();
  if (current.state === "signed-out") redirect("/");
  if (current.state === "blocked") {
    return (
      <main>
        <p data-testid="blocked">
          This device is blocked. Sign in from another device to unblock it.
        </p>
      </main>
    );
  }
  return (
    <main>
      <h1>Your devices</h1>
      <Devices />
      <form action={signOut}>
        <button id="logout" type="submit">
          Sign out
        </button>
      </form>
    </main>
  );
}
