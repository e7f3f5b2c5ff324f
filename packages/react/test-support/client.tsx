// Hydrates the server-rendered page; recoverable errors (hydration mismatches) are kept for the test.
import { hydrateRoot } from "react-dom/client";
import { App } from "./app.js";

declare global {
  interface Window {
    recoverable: string[];
  }
}
window.recoverable = [];
const db = new URLSearchParams(location.search).get("db") ?? "devicebound";
hydrateRoot(document.getElementById("root") as HTMLElement, <App db={db} />, {
  onRecoverableError: (error) => void window.recoverable.push(String(error)),
});
