"use client";
import { DeviceProvider } from "@devicebound/react";
import type { ReactNode } from "react";

export function Providers({ children }: { children: ReactNode }) {
  return (
    <DeviceProvider fetchChallenge={() => fetch("/api/challenge").then((r) => r.json())}>
      {children}
    </DeviceProvider>
  );
}
