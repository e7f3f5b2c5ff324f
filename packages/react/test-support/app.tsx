// The page under test, rendered on the server (renderToString) and hydrated in Chromium: a probe
// that shows what useDevice() reports and lets the test drive the bound fetch and forgetDevice.
import { useEffect } from "react";
import { DeviceProvider, useDevice } from "../src/index.js";

declare global {
  interface Window {
    probe?: {
      me(): Promise<{ status: number; jkt: string | null }>;
      forget(): Promise<void>;
    };
  }
}

function Probe() {
  const device = useDevice();
  useEffect(() => {
    window.probe = {
      async me() {
        const response = await device.fetch("/api/me");
        const body = (await response.json()) as { jkt?: string };
        return { status: response.status, jkt: body.jkt ?? null };
      },
      forget: device.forgetDevice,
    };
  }, [device]);
  return (
    <output
      id="device"
      data-status={device.status}
      data-jkt={device.jkt ?? ""}
      data-previous={device.previousJkt ?? ""}
    >
      {device.status}
    </output>
  );
}

export function App({ db }: { db: string }) {
  return (
    <DeviceProvider
      databaseName={db}
      fetchChallenge={() => fetch("/api/challenge").then((r) => r.json())}
    >
      <Probe />
    </DeviceProvider>
  );
}
