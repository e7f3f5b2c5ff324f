// @devicebound/react: the device key in React. <DeviceProvider> owns one createDeviceFetch
// instance; useDevice() reads its key status, thumbprint and bound fetch. Renders on a server
// without touching IndexedDB: the key is loaded in an effect, which only runs in the browser.
import {
  createDeviceFetch,
  type DeviceBindingError,
  type DeviceFetch,
  type DeviceKeyEvent,
  type DeviceKeyStatus,
  type FetchWithDeviceOptions,
  isDeviceBindingError,
} from "@devicebound/browser";
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";

/**
 * `pending`: not known yet (always, during server rendering and the first browser render, so
 * hydration matches). Then the key's status from `@devicebound/browser`: `created`, `restored`,
 * `missing` or `replaced` (treat the last two as a new device and tell your server). `unsupported`:
 * this browser cannot hold a key (`ERR_UNSUPPORTED`); `error`: loading it failed (`error` says why).
 */
export type DeviceStatus = "pending" | DeviceKeyStatus | "unsupported" | "error";

export interface DeviceState {
  status: DeviceStatus;
  /** The key's RFC 7638 thumbprint, the device's identity on the server; `null` until loaded. */
  jkt: string | null;
  /** The thumbprint this profile used before (`missing`, `replaced`), if it had one. */
  previousJkt: string | null;
  /** Whether the browser granted persistent storage; `null` until loaded. */
  persisted: boolean | null;
  error: DeviceBindingError | null;
  /** `fetch` that signs a proof with this device's key (the provider's `createDeviceFetch`). */
  fetch: DeviceFetch["fetchWithDevice"];
  /** Deletes the key and loads a new one: the server then sees a new device. */
  forgetDevice(): Promise<void>;
}

export interface DeviceProviderProps extends FetchWithDeviceOptions {
  children?: ReactNode;
}

type KeyState = Pick<DeviceState, "status" | "jkt" | "previousJkt" | "persisted" | "error">;
const PENDING: KeyState = {
  status: "pending",
  jkt: null,
  previousJkt: null,
  persisted: null,
  error: null,
};

const DeviceContext = createContext<DeviceState | null>(null);

/**
 * Holds the device key for the components below it. Its options are those of
 * `createDeviceFetch` and are read once, when the provider mounts (give it a new `key` to start
 * over with others); `onDeviceKey` and `onFallback` are always the latest ones passed.
 */
export function DeviceProvider({ children, ...options }: DeviceProviderProps) {
  const latest = useRef(options);
  latest.current = options;
  const [state, setState] = useState<KeyState>(PENDING);
  // Creating the instance touches nothing (no IndexedDB, no fetch), so it is safe on a server.
  const [device] = useState(() =>
    createDeviceFetch({
      ...options,
      onDeviceKey(event: DeviceKeyEvent) {
        setState({
          status: event.status,
          jkt: event.jkt,
          previousJkt: event.previousJkt,
          persisted: event.persisted,
          error: null,
        });
        latest.current.onDeviceKey?.(event);
      },
      onFallback: (event) => latest.current.onFallback?.(event),
    }),
  );
  const load = useCallback(
    () =>
      device.getDeviceThumbprint().catch((error: unknown) => {
        const failure = isDeviceBindingError(error) ? error : null;
        setState({
          ...PENDING,
          status: failure?.code === "ERR_UNSUPPORTED" ? "unsupported" : "error",
          error: failure,
        });
      }),
    [device],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const forgetDevice = useCallback(async () => {
    await device.forgetDevice();
    setState(PENDING);
    await load();
  }, [device, load]);
  const value = useMemo<DeviceState>(
    () => ({ ...state, fetch: device.fetchWithDevice, forgetDevice }),
    [state, device, forgetDevice],
  );
  return createElement(DeviceContext.Provider, { value }, children);
}

/** The device of the nearest `<DeviceProvider>`; a `TypeError` outside one. */
export function useDevice(): DeviceState {
  const device = useContext(DeviceContext);
  if (!device) throw new TypeError("useDevice() must be called inside a <DeviceProvider>");
  return device;
}

export type { DeviceKeyEvent, DeviceKeyStatus, FetchWithDeviceOptions } from "@devicebound/browser";
