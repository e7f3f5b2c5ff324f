"use client";
// The device list and its actions, each a route handler call with a proof from this browser.
import { useDevice } from "@devicebound/react";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";

interface Row {
  id: string;
  displayName: string;
  status: "active" | "blocked";
  lastSeenAt: string;
  current: boolean;
}

export function Devices() {
  const device = useDevice();
  const router = useRouter();
  const [rows, setRows] = useState<Row[] | null>(null);
  const [user, setUser] = useState<string | null>(null);
  const [blocked, setBlocked] = useState(false);

  const call = useCallback(
    async <T,>(path: string, init?: RequestInit): Promise<T | null> => {
      const response = await device.fetch(path, init);
      if (response.status === 401) {
        router.replace("/");
        return null;
      }
      if (response.status === 403) {
        setBlocked(true);
        return null;
      }
      return (await response.json()) as T;
    },
    [device.fetch, router],
  );
  const load = useCallback(async () => {
    const me = await call<{ user: { id: string } }>("/api/me");
    if (!me) return;
    setUser(me.user.id);
    const list = await call<{ devices: Row[] }>("/api/devices");
    if (list) setRows(list.devices);
  }, [call]);
  useEffect(() => {
    void load();
  }, [load]);

  async function act(row: Row, action: "rename" | "block" | "unblock" | "delete") {
    if (action === "rename") {
      const displayName = window.prompt("New name", row.displayName);
      if (!displayName) return;
      await call(`/api/devices/${row.id}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ displayName }),
      });
    } else if (action === "delete") {
      const answer = await call<{ signedOut: boolean }>(`/api/devices/${row.id}`, {
        method: "DELETE",
      });
      if (answer?.signedOut) return router.replace("/");
    } else {
      await call(`/api/devices/${row.id}/${action}`, { method: "POST" });
    }
    await load();
  }

  if (blocked) return <p data-testid="blocked">This device is blocked.</p>;
  if (!rows) return <p>Loading…</p>;
  return (
    <>
      <p>
        Signed in as <strong id="user">{user}</strong>; this browser's key{" "}
        <code>{device.jkt?.slice(0, 12)}</code> ({device.status})
      </p>
      <table>
        <tbody>
          {rows.map((row) => (
            <tr
              key={row.id}
              data-testid="device-row"
              data-device-id={row.id}
              data-status={row.status}
              data-current={row.current ? "" : undefined}
            >
              <td>{row.displayName}</td>
              <td>{row.current ? "this browser" : row.status}</td>
              <td>
                <button type="button" onClick={() => act(row, "rename")}>
                  Rename
                </button>{" "}
                {row.status === "active" ? (
                  <button type="button" onClick={() => act(row, "block")}>
                    Block
                  </button>
                ) : (
                  <button type="button" onClick={() => act(row, "unblock")}>
                    Unblock
                  </button>
                )}{" "}
                <button type="button" onClick={() => act(row, "delete")}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
