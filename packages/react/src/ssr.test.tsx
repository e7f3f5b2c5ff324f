// Server rendering in Node: the provider and its hooks render without touching IndexedDB, Web
// Crypto or the network, and what they render is what the browser's first render will be.
import { renderToString } from "react-dom/server";
import { afterEach, describe, expect, it } from "vitest";
import { DeviceProvider, useDevice } from "./index.js";

function Status() {
  const { status, jkt, fetch } = useDevice();
  return (
    <p data-status={status} data-fetch={typeof fetch}>
      {jkt ?? "no key yet"}
    </p>
  );
}

describe("server rendering", () => {
  const touched: string[] = [];
  const trap = (name: string) =>
    new Proxy(
      {},
      {
        get(_target, property) {
          touched.push(`${name}.${String(property)}`);
          throw new Error(`${name} touched during server rendering`);
        },
      },
    );
  afterEach(() => {
    delete (globalThis as { indexedDB?: unknown }).indexedDB;
    touched.length = 0;
  });

  it("renders the pending state without touching IndexedDB or the network", () => {
    (globalThis as { indexedDB?: unknown }).indexedDB = trap("indexedDB");
    const calls: string[] = [];
    const html = renderToString(
      <DeviceProvider
        fetchChallenge={async () => {
          calls.push("fetchChallenge");
          return { challenge: "c", expiresAt: 0 };
        }}
        fetch={async () => {
          calls.push("fetch");
          return new Response();
        }}
      >
        <Status />
      </DeviceProvider>,
    );
    expect(html).toBe('<p data-status="pending" data-fetch="function">no key yet</p>');
    expect(touched).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("refuses useDevice outside a provider with a TypeError", () => {
    expect(() => renderToString(<Status />)).toThrow(TypeError);
  });

  it("refuses bad options when the provider is created, as createDeviceFetch does", () => {
    expect(() =>
      renderToString(
        <DeviceProvider fetchChallenge={undefined as never}>
          <Status />
        </DeviceProvider>,
      ),
    ).toThrow(TypeError);
  });
});
