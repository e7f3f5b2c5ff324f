import { describe, expect, it } from "vitest";
import type { DeviceStore } from "./device-store.js";
import type { DeviceEvent } from "./events.js";
import { memoryStore } from "./memory-store.js";
import { createRegistry, type RegistryOptions } from "./registry.js";
import type { VerifiedProof } from "./verified-proof.js";

let keys = 0;
function proof(overrides: Partial<VerifiedProof> = {}): VerifiedProof {
  keys++;
  return {
    jkt: `jkt-${keys}`,
    jwk: { kty: "EC", crv: "P-256", x: `x${keys}`, y: `y${keys}` },
    alg: "ES256",
    claims: { jti: "j", htm: "GET", htu: "https://a.example/", iat: 0 },
    userAgent:
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    ipAddress: null,
    ...overrides,
  };
}

function registry(options: Partial<RegistryOptions> = {}) {
  let now = Date.UTC(2026, 10, 24);
  const events: DeviceEvent[] = [];
  const store = memoryStore();
  const reg = createRegistry({
    store,
    now: () => now,
    onEvent: (e) => void events.push(e),
    ...options,
  });
  return { reg, store, events, advance: (ms: number) => (now += ms), now: () => now };
}

describe("register", () => {
  it("registers a new device once, with a name from the User-Agent, then knows it", async () => {
    const { reg, events } = registry();
    const p = proof();
    const first = await reg.register("alice", p);
    expect(first.newDeviceDetected).toBe(true);
    expect(first.device).toMatchObject({
      userId: "alice",
      jkt: p.jkt,
      status: "active",
      displayName: "Chrome on macOS",
      metadata: {},
    });
    expect(first.device.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const again = await reg.register("alice", p, { displayName: "ignored for a known device" });
    expect(again).toMatchObject({
      newDeviceDetected: false,
      device: { id: first.device.id, displayName: "Chrome on macOS" },
    });
    expect(events.map((e) => e.type)).toEqual(["registered", "newDevice", "seen"]);
  });

  it("reports a new device exactly once when 20 registrations of one key race", async () => {
    const { reg, store } = registry();
    const p = proof();
    const results = await Promise.all(Array.from({ length: 20 }, () => reg.register("alice", p)));
    expect(results.filter((r) => r.newDeviceDetected)).toHaveLength(1);
    expect(new Set(results.map((r) => r.device.id)).size).toBe(1);
    expect(await store.listDevices("alice")).toHaveLength(1);
  });

  it("keeps a blocked device blocked when it registers again", async () => {
    const { reg } = registry();
    const p = proof();
    const { device } = await reg.register("alice", p);
    await reg.block("alice", device.id);
    await expect(reg.register("alice", p)).rejects.toMatchObject({ code: "ERR_DEVICE_BLOCKED" });
    expect((await reg.get("alice", device.id))?.status).toBe("blocked");
  });

  it("scopes keys per user", async () => {
    const { reg } = registry();
    const p = proof();
    const a = await reg.register("alice", p);
    const b = await reg.register("bob", p);
    expect(b.newDeviceDetected).toBe(true);
    expect(await reg.get("bob", a.device.id)).toBeNull();
    await expect(reg.block("bob", a.device.id)).rejects.toMatchObject({
      code: "ERR_DEVICE_NOT_FOUND",
    });
    await expect(reg.delete("bob", a.device.id)).rejects.toMatchObject({
      code: "ERR_DEVICE_NOT_FOUND",
    });
    await expect(reg.update("bob", a.device.id, { displayName: "mine" })).rejects.toMatchObject({
      code: "ERR_DEVICE_NOT_FOUND",
    });
    expect((await reg.get("alice", a.device.id))?.status).toBe("active");
  });

  it("refuses a new device at the limit, or removes the least recently seen", async () => {
    const strict = registry({ maxDevicesPerUser: 1 });
    await strict.reg.register("alice", proof());
    await expect(strict.reg.register("alice", proof())).rejects.toMatchObject({
      code: "ERR_DEVICE_LIMIT",
    });

    const single = registry({ maxDevicesPerUser: 1, onDeviceLimit: "remove-least-recently-seen" });
    const old = await single.reg.register("alice", proof());
    single.advance(1000);
    const fresh = await single.reg.register("alice", proof());
    expect((await single.reg.list("alice")).map((d) => d.id)).toEqual([fresh.device.id]);
    expect(single.events).toContainEqual({
      type: "deleted",
      device: old.device,
      reason: "evicted",
    });
  });

  it("validates what comes from the network", async () => {
    const { reg } = registry();
    for (const userId of ["", "x".repeat(300), "a\nb", 42]) {
      await expect(reg.register(userId as string, proof())).rejects.toMatchObject({
        code: "ERR_INVALID_INPUT",
      });
    }
    for (const displayName of ["", "   ", "x".repeat(101), "bad\u0000name", "evil\u202Egnp.exe"]) {
      await expect(reg.register("alice", proof(), { displayName })).rejects.toMatchObject({
        code: "ERR_INVALID_INPUT",
      });
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const metadata of [[], "x", cyclic, { big: "x".repeat(9000) }, { n: 1n }]) {
      await expect(
        reg.register("alice", proof(), { metadata: metadata as never }),
      ).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
    }
    await expect(reg.block("alice", "../etc")).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
    expect(await reg.get("alice", "../etc")).toBeNull();
    await expect(reg.register("alice", {} as never)).rejects.toBeInstanceOf(TypeError);
  });

  it("refuses what one store could not hold as given: lone surrogates, look-alike names, deep metadata", async () => {
    const { reg } = registry();
    for (const userId of ["user\ud800", "user\udc00", "\udc00\ud800"]) {
      await expect(reg.register(userId, proof())).rejects.toMatchObject({
        code: "ERR_INVALID_INPUT",
        details: { field: "userId" },
      });
      await expect(reg.list(userId)).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
    }
    expect((await reg.register("user\ud83d\udd10", proof())).newDeviceDetected).toBe(true);
    for (const displayName of [
      "Work\u200blaptop", // zero-width space
      "Work\u200dlaptop", // zero-width joiner
      "Work\u200elaptop", // left-to-right mark
      "Work\u200flaptop", // right-to-left mark
      "Work\u2060laptop", // word joiner
      "Work\ufefflaptop", // byte order mark
      "Work\u00adlaptop", // soft hyphen
      "Work laptop\udb40\udc41", // tag character
      "Work\u061claptop", // Arabic letter mark
      "\ud800 laptop",
    ]) {
      await expect(
        reg.register("alice", proof(), { displayName }),
        displayName,
      ).rejects.toMatchObject({ code: "ERR_INVALID_INPUT", details: { field: "displayName" } });
    }
    expect(
      (await reg.register("alice", proof(), { displayName: "Café laptop 🔐 é" })).device
        .displayName,
    ).toBe("Café laptop 🔐 é");

    const nest = (depth: number) => {
      let value: Record<string, unknown> = {};
      for (let i = 1; i < depth; i++) value = { v: value };
      return value;
    };
    await expect(reg.register("alice", proof(), { metadata: nest(33) })).rejects.toMatchObject({
      code: "ERR_INVALID_INPUT",
      details: { field: "metadata" },
    });
    // 1,000+ levels in under 8 KB of JSON, and far deeper than any stack: refused, not a crash.
    for (const depth of [1200, 200_000]) {
      await expect(reg.register("alice", proof(), { metadata: nest(depth) })).rejects.toMatchObject(
        { code: "ERR_INVALID_INPUT" },
      );
    }
    const wide = { list: Array.from({ length: 20_000 }, () => 0) };
    await expect(reg.register("alice", proof(), { metadata: wide })).rejects.toMatchObject({
      code: "ERR_INVALID_INPUT",
    });
    const deepest = await reg.register("alice", proof(), { metadata: nest(32) });
    expect(deepest.device.metadata).toEqual(nest(32));
  });

  it("never evicts a blocked device for the limit, and does not count it", async () => {
    const { reg } = registry({ maxDevicesPerUser: 1, onDeviceLimit: "remove-least-recently-seen" });
    const stolen = proof();
    const { device } = await reg.register("alice", stolen);
    await reg.block("alice", device.id);
    // The blocked device does not count: a new device fits without evicting it.
    const laptop = await reg.register("alice", proof());
    expect(laptop.newDeviceDetected).toBe(true);
    await reg.register("alice", proof()); // evicts the laptop, never the blocked one
    expect((await reg.get("alice", device.id))?.status).toBe("blocked");
    await expect(reg.register("alice", stolen)).rejects.toMatchObject({
      code: "ERR_DEVICE_BLOCKED",
    });
    expect((await reg.isKnown("alice", stolen)).status).toBe("blocked");
  });

  it("throws TypeError for misconfiguration", () => {
    expect(() => createRegistry({ store: {} as DeviceStore })).toThrow(TypeError);
    expect(() => createRegistry({ store: memoryStore(), maxDevicesPerUser: 0 })).toThrow(TypeError);
    expect(() =>
      createRegistry({
        store: memoryStore(),
        maxDevicesPerUser: 2,
        onDeviceLimit: "drop" as never,
      }),
    ).toThrow(TypeError);
  });
});

describe("isKnown", () => {
  it("answers unknown, active or blocked, and moves lastSeenAt at most once a minute", async () => {
    const { reg, advance, now } = registry();
    const p = proof();
    expect(await reg.isKnown("alice", p)).toEqual({ status: "unknown" });
    const { device } = await reg.register("alice", p);
    advance(30_000);
    expect((await reg.isKnown("alice", p)).device?.lastSeenAt).toEqual(device.lastSeenAt);
    advance(31_000);
    const seen = await reg.isKnown("alice", p);
    expect(seen.status).toBe("active");
    expect(seen.device?.lastSeenAt.getTime()).toBe(now());
    await reg.block("alice", device.id);
    expect((await reg.isKnown("alice", p)).status).toBe("blocked");
    await reg.unblock("alice", device.id);
    expect((await reg.isKnown("alice", p)).status).toBe("active");
  });
});

describe("manage", () => {
  it("lists, renames, sets metadata, blocks, unblocks and deletes with events", async () => {
    const { reg, events, advance } = registry();
    const a = (await reg.register("alice", proof())).device;
    advance(1000);
    const b = (
      await reg.register("alice", proof(), { displayName: "  Phone  ", metadata: { k: 1 } })
    ).device;
    expect(b.displayName).toBe("Phone");
    expect((await reg.list("alice")).map((d) => d.id)).toEqual([a.id, b.id]);
    const renamed = await reg.update("alice", a.id, {
      displayName: "Work laptop",
      metadata: { team: "ops" },
    });
    expect(renamed).toMatchObject({ displayName: "Work laptop", metadata: { team: "ops" } });
    expect((await reg.block("alice", a.id)).status).toBe("blocked");
    expect((await reg.unblock("alice", a.id)).status).toBe("active");
    await reg.delete("alice", a.id);
    expect(await reg.get("alice", a.id)).toBeNull();
    await expect(reg.delete("alice", a.id)).rejects.toMatchObject({ code: "ERR_DEVICE_NOT_FOUND" });
    expect(events.map((e) => e.type).slice(-4)).toEqual([
      "updated",
      "blocked",
      "unblocked",
      "deleted",
    ]);
  });

  it("is not failed by a throwing or rejecting event handler", async () => {
    for (const onEvent of [
      () => {
        throw new Error("bug");
      },
      () => Promise.reject(new Error("bug")),
    ]) {
      const { reg } = registry({ onEvent });
      await expect(reg.register("alice", proof())).resolves.toMatchObject({
        newDeviceDetected: true,
      });
    }
  });
});

describe("recognize, count and listAll", () => {
  it("recognises only active devices of the key, across users, without touching them", async () => {
    const { reg, advance } = registry();
    const p = proof();
    const a = (await reg.register("alice", p)).device;
    advance(1);
    const b = (await reg.register("bob", p)).device;
    advance(1);
    await reg.register("carol", proof());
    await reg.block("bob", b.id);
    advance(3_600_000);
    expect(await reg.recognize(p)).toEqual([a]);
    expect(await reg.recognize(proof())).toEqual([]);
    await expect(reg.recognize({} as never)).rejects.toBeInstanceOf(TypeError);
  });

  it("counts a user's devices and refuses a malformed user id", async () => {
    const { reg } = registry();
    await reg.register("alice", proof());
    await reg.register("alice", proof());
    expect(await reg.count("alice")).toBe(2);
    expect(await reg.count("nobody")).toBe(0);
    await expect(reg.count("")).rejects.toMatchObject({ code: "ERR_INVALID_INPUT" });
  });

  it("gives a next cursor exactly when more devices follow", async () => {
    const { reg, advance } = registry();
    for (let i = 0; i < 4; i++) {
      await reg.register(`user-${i}`, proof());
      advance(1);
    }
    const first = await reg.listAll({ limit: 2 });
    expect(first.devices.map((d) => d.userId)).toEqual(["user-0", "user-1"]);
    const second = await reg.listAll({ limit: 2, cursor: first.nextCursor });
    expect(second.devices.map((d) => d.userId)).toEqual(["user-2", "user-3"]);
    expect(second.nextCursor).toBeUndefined();
    expect(await reg.listAll({ limit: 4 })).not.toHaveProperty("nextCursor");
    expect((await reg.listAll()).devices).toHaveLength(4);
    expect((await reg.listAll({ query: "" })).devices).toHaveLength(4);
  });

  it("refuses cursors it did not issue and out-of-range options with ERR_INVALID_INPUT", async () => {
    const { reg } = registry();
    await reg.register("alice", proof());
    const b64 = (text: string) => Buffer.from(text).toString("base64url");
    for (const cursor of [
      "",
      "not a cursor",
      b64("2.1.abc"),
      b64("1.-1.abc"),
      b64("1.01.abc"),
      b64("1.99999999999999999.abc"),
      b64("1.5.a b"),
      b64("1.5."),
      `${b64("1.5.abc")}=`,
      Buffer.from([0xff, 0xfe]).toString("base64url"),
      "A".repeat(200),
      42,
    ]) {
      await expect(reg.listAll({ cursor } as never), String(cursor)).rejects.toMatchObject({
        code: "ERR_INVALID_INPUT",
        details: { field: "cursor" },
      });
    }
    expect((await reg.listAll({ cursor: b64("1.5.abc") })).devices).toHaveLength(1);
    await expect(reg.listAll({ cursor: b64("1.9999999999999.abc") })).resolves.toEqual({
      devices: [],
    });
    for (const [options, field] of [
      [{ limit: 0 }, "limit"],
      [{ limit: 501 }, "limit"],
      [{ limit: 1.5 }, "limit"],
      [{ status: "deleted" }, "status"],
      [{ userId: "" }, "userId"],
      [{ query: "x".repeat(257) }, "query"],
      [{ query: "a\u0000b" }, "query"],
      [{ query: 5 }, "query"],
    ] as const) {
      await expect(reg.listAll(options as never)).rejects.toMatchObject({
        code: "ERR_INVALID_INPUT",
        details: { field },
      });
    }
    expect((await reg.listAll({ limit: 500 })).devices).toHaveLength(1);
  });

  it("tells a store without the new methods apart with a TypeError", async () => {
    const { store } = registry();
    const { findDevicesByJkt, countDevices, listAllDevices, ...old } = store;
    const reg = createRegistry({ store: old as unknown as DeviceStore });
    await expect(reg.recognize(proof())).rejects.toThrow(/findDevicesByJkt/);
    await expect(reg.count("alice")).rejects.toThrow(/countDevices/);
    await expect(reg.listAll()).rejects.toThrow(/listAllDevices/);
  });
});

describe("kept devices (stores with devicesVersion)", () => {
  it("never keeps a device read that a block overtook while the read was in flight", async () => {
    const store = memoryStore();
    const reg = createRegistry({ store });
    const p = proof();
    const { device } = await reg.register("alice", p);
    // From now on a slow read: it takes its answer at once, but hands the first one over only
    // when released.
    let release: (() => void) | undefined;
    const read = store.getDeviceByJkt.bind(store);
    store.getDeviceByJkt = async (userId, jkt) => {
      const answer = await read(userId, jkt);
      if (release === undefined) await new Promise<void>((resolve) => (release = resolve));
      return answer;
    };
    const slow = reg.isKnown("alice", p); // reads the version, then waits with "active" in hand
    await new Promise((resolve) => setTimeout(resolve, 0));
    await store.updateDevice("alice", device.id, { status: "blocked" });
    // A lookup after the block sees it, and keeps the blocked device.
    expect((await reg.isKnown("alice", p)).status).toBe("blocked");
    release?.();
    // The slow lookup began before the block and may answer what it read then...
    expect((await slow).status).toBe("active");
    // ...but what it read is not kept over the blocked device.
    expect((await reg.isKnown("alice", p)).status).toBe("blocked");
  });
});
