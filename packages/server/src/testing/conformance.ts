// The one conformance suite for DeviceStore and ReplayStore. Every adapter (memory, SQLite,
// PostgreSQL, Redis) runs it against a real backend, a fresh store per test:
//   runStoreConformanceSuite({ name: "sqlite", createStore: () => sqliteStore({ filename }) })
import { afterEach, describe, expect, it } from "vitest";
import type {
  DbscSession,
  DbscSessionStore,
  Device,
  DeviceListQuery,
  DevicePosition,
  DeviceStore,
  ReplayStore,
} from "../device-store.js";
import { createRegistry } from "../registry.js";
import type { VerifiedProof } from "../verified-proof.js";

type AnyStore = Partial<DeviceStore & ReplayStore & DbscSessionStore> & {
  close?(): Promise<void>;
};

export interface ConformanceOptions<S extends AnyStore> {
  name: string;
  /** A new, empty store for each test. */
  createStore: () => S | Promise<S>;
  /** Run the DeviceStore group. Switch off (with a comment why) for replay-only adapters. */
  devices?: boolean;
  /** Run the ReplayStore group. Switch off (with a comment why) for device-only adapters. */
  replay?: boolean;
  /** Run the DbscSessionStore group. Switch off (with a comment why) for stores without it. */
  dbsc?: boolean;
  /** The store has `devicesVersion()` (the registry then keeps devices between requests). */
  devicesVersion?: boolean;
}

let counter = 0;

/** A valid device with unique id and key, for tests. */
export function makeDeviceRecord(overrides: Partial<Device> = {}): Device {
  counter++;
  const at = new Date(Date.UTC(2026, 0, 1, 12, 0, 0, 123) + counter);
  const n = String(counter).padStart(6, "0");
  return {
    id: `dev_${n}_${Math.random().toString(36).slice(2, 10)}`,
    userId: "user-1",
    jkt: `jkt-${n}-${Math.random().toString(36).slice(2, 10)}`,
    publicJwk: { kty: "EC", crv: "P-256", x: `x${n}`.padEnd(43, "A"), y: `y${n}`.padEnd(43, "B") },
    alg: "ES256",
    status: "active",
    displayName: "Chrome on Linux",
    createdAt: at,
    lastSeenAt: at,
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0",
    metadata: {},
    ...overrides,
  };
}

let dbscCounter = 0;

/** A valid pending DBSC session with a unique id, for tests. */
export function makeDbscSessionRecord(overrides: Partial<DbscSession> = {}): DbscSession {
  dbscCounter++;
  return {
    id: `dbsc_${String(dbscCounter).padStart(6, "0")}_${Math.random().toString(36).slice(2, 10)}`,
    userId: "user-1",
    deviceId: "device-1",
    status: "pending",
    alg: null,
    publicJwk: null,
    createdAt: new Date(Date.UTC(2026, 0, 1, 12, 0, 0, 0) + dbscCounter),
    refreshedAt: null,
    endReason: null,
    expiresAt: new Date(Date.now() + 3_600_000),
    version: 1,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A verified proof of the key of `device`, as the registry takes it. */
function proofOf(device: Device): VerifiedProof {
  return {
    jkt: device.jkt,
    jwk: device.publicJwk,
    alg: device.alg,
    claims: { jti: "j", htm: "GET", htu: "https://app.example/", iat: 0 },
    userAgent: null,
    ipAddress: null,
  };
}

export function runStoreConformanceSuite<S extends AnyStore>(options: ConformanceOptions<S>): void {
  const open: S[] = [];
  async function fresh(): Promise<S> {
    const store = await options.createStore();
    open.push(store);
    return store;
  }
  async function devices(): Promise<DeviceStore> {
    return (await fresh()) as unknown as DeviceStore;
  }

  describe(`${options.name}: storage conformance`, () => {
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close?.();
    });

    describe.runIf(options.devices !== false)("DeviceStore", () => {
      it("stores a device and reads it back exactly, by id and by jkt", async () => {
        const store = await devices();
        const device = makeDeviceRecord({
          displayName: "Firefox on macOS ✓",
          userAgent: null,
          metadata: {
            plan: "pro",
            nested: { list: [1, "two", null, true], emoji: "🔐", empty: {} },
          },
          publicJwk: { kty: "OKP", crv: "Ed25519", x: "x".repeat(43) },
          alg: "EdDSA",
          createdAt: new Date(1767225600123),
          lastSeenAt: new Date(1767225609999),
        });
        const result = await store.insertDevice(device);
        expect(result).toEqual({ outcome: "created", device, evicted: [] });
        expect(await store.getDevice(device.userId, device.id)).toEqual(device);
        expect(await store.getDeviceByJkt(device.userId, device.jkt)).toEqual(device);
        const read = await store.getDevice(device.userId, device.id);
        expect(read?.createdAt).toBeInstanceOf(Date);
        expect(read?.createdAt.getTime()).toBe(1767225600123);
      });

      it("returns null for what does not exist", async () => {
        const store = await devices();
        expect(await store.getDevice("nobody", "nothing")).toBeNull();
        expect(await store.getDeviceByJkt("nobody", "nothing")).toBeNull();
        expect(await store.listDevices("nobody")).toEqual([]);
        expect(await store.updateDevice("nobody", "nothing", { displayName: "x" })).toBeNull();
        expect(await store.deleteDevice("nobody", "nothing")).toBe(false);
      });

      it("keeps the first device when the same key is inserted again for the user", async () => {
        const store = await devices();
        const first = makeDeviceRecord();
        await store.insertDevice(first);
        const again = makeDeviceRecord({ jkt: first.jkt, displayName: "Other" });
        expect(await store.insertDevice(again)).toEqual({ outcome: "existing", device: first });
        expect(await store.listDevices(first.userId)).toEqual([first]);
        expect(await store.getDevice(first.userId, again.id)).toBeNull();
      });

      it("isolates users: one key may belong to two users, and no call crosses over", async () => {
        const store = await devices();
        const a = makeDeviceRecord({ userId: "alice" });
        const b = makeDeviceRecord({ userId: "bob", jkt: a.jkt });
        expect((await store.insertDevice(a)).outcome).toBe("created");
        expect((await store.insertDevice(b)).outcome).toBe("created");
        expect(await store.getDevice("bob", a.id)).toBeNull();
        expect(await store.getDeviceByJkt("bob", a.jkt)).toEqual(b);
        expect(await store.updateDevice("bob", a.id, { status: "blocked" })).toBeNull();
        expect(await store.deleteDevice("bob", a.id)).toBe(false);
        expect(await store.getDevice("alice", a.id)).toEqual(a);
        expect(await store.listDevices("alice")).toEqual([a]);
      });

      it("lists a user's devices oldest first, ties by id", async () => {
        const store = await devices();
        const t = new Date(1767225600000);
        const later = makeDeviceRecord({ createdAt: new Date(t.getTime() + 5000) });
        const tieB = makeDeviceRecord({ id: "b-tie", createdAt: t });
        const tieA = makeDeviceRecord({ id: "a-tie", createdAt: t });
        for (const d of [later, tieB, tieA]) await store.insertDevice(d);
        expect((await store.listDevices("user-1")).map((d) => d.id)).toEqual([
          "a-tie",
          "b-tie",
          later.id,
        ]);
      });

      it("updates only the members given and replaces metadata whole", async () => {
        const store = await devices();
        const device = makeDeviceRecord({ metadata: { a: 1, b: 2 } });
        await store.insertDevice(device);
        const seen = new Date(device.lastSeenAt.getTime() + 61_001);
        const updated = await store.updateDevice(device.userId, device.id, {
          displayName: "Work laptop",
          metadata: { c: [3] },
          lastSeenAt: seen,
        });
        const expected = {
          ...device,
          displayName: "Work laptop",
          metadata: { c: [3] },
          lastSeenAt: seen,
        };
        expect(updated).toEqual(expected);
        expect(await store.getDevice(device.userId, device.id)).toEqual(expected);
        const blocked = await store.updateDevice(device.userId, device.id, { status: "blocked" });
        expect(blocked).toEqual({ ...expected, status: "blocked" });
        expect(await store.updateDevice(device.userId, device.id, {})).toEqual({
          ...expected,
          status: "blocked",
        });
      });

      it("deletes once, and the key can then be registered afresh", async () => {
        const store = await devices();
        const device = makeDeviceRecord();
        await store.insertDevice(device);
        expect(await store.deleteDevice(device.userId, device.id)).toBe(true);
        expect(await store.deleteDevice(device.userId, device.id)).toBe(false);
        expect(await store.getDeviceByJkt(device.userId, device.jkt)).toBeNull();
        const again = makeDeviceRecord({ jkt: device.jkt });
        expect((await store.insertDevice(again)).outcome).toBe("created");
      });

      it("rejects a new device at the limit, but still finds an existing key", async () => {
        const store = await devices();
        const limit = { maxDevices: 2, onLimit: "reject" } as const;
        const [a, b, c] = [makeDeviceRecord(), makeDeviceRecord(), makeDeviceRecord()];
        expect((await store.insertDevice(a as Device, limit)).outcome).toBe("created");
        expect((await store.insertDevice(b as Device, limit)).outcome).toBe("created");
        expect(await store.insertDevice(c as Device, limit)).toEqual({ outcome: "limit" });
        expect((await store.insertDevice(makeDeviceRecord({ jkt: a?.jkt }), limit)).outcome).toBe(
          "existing",
        );
        expect((await store.listDevices("user-1")).map((d) => d.id)).toEqual([a?.id, b?.id]);
      });

      it("evicts the least recently seen devices at the limit", async () => {
        const store = await devices();
        const limit = { maxDevices: 2, onLimit: "evict-least-recently-seen" } as const;
        const t = 1767225600000;
        const a = makeDeviceRecord({ createdAt: new Date(t), lastSeenAt: new Date(t + 9000) });
        const b = makeDeviceRecord({ createdAt: new Date(t + 1), lastSeenAt: new Date(t + 1000) });
        await store.insertDevice(a, limit);
        await store.insertDevice(b, limit);
        const c = makeDeviceRecord({ createdAt: new Date(t + 2), lastSeenAt: new Date(t + 2) });
        expect(await store.insertDevice(c, limit)).toEqual({
          outcome: "created",
          device: c,
          evicted: [b],
        });
        expect((await store.listDevices("user-1")).map((d) => d.id)).toEqual([a.id, c.id]);
        const single = { maxDevices: 1, onLimit: "evict-least-recently-seen" } as const;
        const d = makeDeviceRecord({ createdAt: new Date(t + 3), lastSeenAt: new Date(t + 3) });
        const result = await store.insertDevice(d, single);
        expect(result.outcome).toBe("created");
        expect(result.outcome === "created" && result.evicted.map((x) => x.id).sort()).toEqual(
          [a.id, c.id].sort(),
        );
        expect(await store.listDevices("user-1")).toEqual([d]);
      });

      it("never evicts a blocked device for the limit, and does not count it", async () => {
        const store = await devices();
        const evict = { maxDevices: 1, onLimit: "evict-least-recently-seen" } as const;
        const t = 1767225600000;
        // Blocked long ago and never seen since: the first candidate if status were ignored.
        const blocked = makeDeviceRecord({
          status: "blocked",
          createdAt: new Date(t),
          lastSeenAt: new Date(t),
        });
        expect((await store.insertDevice(blocked, evict)).outcome).toBe("created");
        const a = makeDeviceRecord({ createdAt: new Date(t + 1), lastSeenAt: new Date(t + 5000) });
        expect(await store.insertDevice(a, evict)).toEqual({
          outcome: "created",
          device: a,
          evicted: [],
        });
        const b = makeDeviceRecord({ createdAt: new Date(t + 2), lastSeenAt: new Date(t + 6000) });
        expect(await store.insertDevice(b, evict)).toEqual({
          outcome: "created",
          device: b,
          evicted: [a],
        });
        // A device blocked after it was stored is protected the same way.
        expect((await store.updateDevice(b.userId, b.id, { status: "blocked" }))?.status).toBe(
          "blocked",
        );
        const c = makeDeviceRecord({ createdAt: new Date(t + 3), lastSeenAt: new Date(t + 7000) });
        expect(await store.insertDevice(c, evict)).toEqual({
          outcome: "created",
          device: c,
          evicted: [],
        });
        expect(await store.getDeviceByJkt(blocked.userId, blocked.jkt)).toEqual(blocked);
        expect((await store.listDevices("user-1")).map((d) => [d.id, d.status])).toEqual([
          [blocked.id, "blocked"],
          [b.id, "blocked"],
          [c.id, "active"],
        ]);
        // The blocked key can never come back as a new device.
        expect(
          (await store.insertDevice(makeDeviceRecord({ jkt: blocked.jkt }), evict)).outcome,
        ).toBe("existing");
      });

      it("counts only active devices toward a rejecting limit", async () => {
        const store = await devices();
        const reject = { maxDevices: 1, onLimit: "reject" } as const;
        const blocked = makeDeviceRecord({ status: "blocked" });
        await store.insertDevice(blocked, reject);
        const active = makeDeviceRecord();
        expect((await store.insertDevice(active, reject)).outcome).toBe("created");
        expect(await store.insertDevice(makeDeviceRecord(), reject)).toEqual({ outcome: "limit" });
        await store.updateDevice(active.userId, active.id, { status: "blocked" });
        expect((await store.insertDevice(makeDeviceRecord(), reject)).outcome).toBe("created");
        expect(await store.listDevices("user-1")).toHaveLength(3);
      });

      it("stores, reads and deletes metadata nested 32 levels deep (the registry's limit)", async () => {
        const store = await devices();
        let metadata: Record<string, unknown> = { leaf: "🔐" };
        for (let i = 1; i < 32; i++) metadata = { v: metadata };
        const device = makeDeviceRecord({ metadata });
        await store.insertDevice(device);
        expect((await store.getDevice(device.userId, device.id))?.metadata).toEqual(metadata);
        expect(await store.deleteDevice(device.userId, device.id)).toBe(true);
        expect(await store.getDevice(device.userId, device.id)).toBeNull();
      });

      it("lets exactly one of 20 concurrent inserts of one key create it", async () => {
        const store = await devices();
        const template = makeDeviceRecord();
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.insertDevice(makeDeviceRecord({ jkt: template.jkt })),
          ),
        );
        const created = results.filter((r) => r.outcome === "created");
        expect(created).toHaveLength(1);
        const winner = created[0]?.outcome === "created" ? created[0].device : null;
        for (const r of results) if (r.outcome === "existing") expect(r.device.id).toBe(winner?.id);
        expect(await store.listDevices("user-1")).toHaveLength(1);
      });

      it("reports a new device once when 20 registrations of one key race through the registry", async () => {
        const registry = createRegistry({ store: await devices() });
        const proof = proofOf(makeDeviceRecord());
        const results = await Promise.all(
          Array.from({ length: 20 }, () => registry.register("racer", proof)),
        );
        expect(results.filter((r) => r.newDeviceDetected)).toHaveLength(1);
        expect(await registry.list("racer")).toHaveLength(1);
      });

      it("enforces the limit atomically under 10 concurrent inserts of new keys", async () => {
        const store = await devices();
        const limit = { maxDevices: 3, onLimit: "reject" } as const;
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.insertDevice(makeDeviceRecord(), limit)),
        );
        expect(results.filter((r) => r.outcome === "created")).toHaveLength(3);
        expect(results.filter((r) => r.outcome === "limit")).toHaveLength(7);
        expect(await store.listDevices("user-1")).toHaveLength(3);
      });

      it("finds a key's devices across users, of either status, oldest first", async () => {
        const store = await devices();
        const t = 1767225600000;
        const shared = makeDeviceRecord({ userId: "zoe", createdAt: new Date(t + 2) });
        const bob = makeDeviceRecord({ userId: "bob", jkt: shared.jkt, createdAt: new Date(t) });
        const amy = makeDeviceRecord({
          userId: "amy",
          jkt: shared.jkt,
          status: "blocked",
          createdAt: new Date(t + 1),
        });
        const unrelated = makeDeviceRecord({ userId: "bob" });
        for (const d of [shared, bob, amy, unrelated]) await store.insertDevice(d);
        expect(await store.findDevicesByJkt(shared.jkt)).toEqual([bob, amy, shared]);
        expect(await store.findDevicesByJkt(unrelated.jkt)).toEqual([unrelated]);
        expect(await store.findDevicesByJkt("no-such-jkt")).toEqual([]);
        await store.updateDevice("bob", bob.id, { status: "blocked" });
        await store.deleteDevice("amy", amy.id);
        expect(await store.findDevicesByJkt(shared.jkt)).toEqual([
          { ...bob, status: "blocked" },
          shared,
        ]);
        // An evicted device is gone from the index too.
        const evict = { maxDevices: 1, onLimit: "evict-least-recently-seen" } as const;
        await store.insertDevice(makeDeviceRecord({ userId: "zoe" }), evict);
        expect(await store.findDevicesByJkt(shared.jkt)).toEqual([{ ...bob, status: "blocked" }]);
      });

      it("counts a user's devices of either status", async () => {
        const store = await devices();
        expect(await store.countDevices("user-1")).toBe(0);
        const a = makeDeviceRecord();
        await store.insertDevice(a);
        await store.insertDevice(makeDeviceRecord({ status: "blocked" }));
        await store.insertDevice(makeDeviceRecord({ userId: "other" }));
        expect(await store.countDevices("user-1")).toBe(2);
        await store.deleteDevice("user-1", a.id);
        expect(await store.countDevices("user-1")).toBe(1);
        expect(await store.countDevices("other")).toBe(1);
        expect(await store.countDevices("nobody")).toBe(0);
      });

      it("lists all users' devices oldest first, ties by id, a page at a time from a position", async () => {
        const store = await devices();
        const t = 1767225600000;
        const all = [
          makeDeviceRecord({ userId: "carol", id: "A-tie", createdAt: new Date(t) }),
          makeDeviceRecord({ userId: "alice", id: "a-tie", createdAt: new Date(t) }),
          makeDeviceRecord({ userId: "bob", id: "a-tie-2", createdAt: new Date(t) }),
          makeDeviceRecord({ userId: "alice", createdAt: new Date(t + 1) }),
          makeDeviceRecord({ userId: "bob", createdAt: new Date(t + 2), status: "blocked" }),
          makeDeviceRecord({ userId: "carol", createdAt: new Date(t + 3) }),
          makeDeviceRecord({ userId: "alice", createdAt: new Date(t + 3_600_000) }),
        ];
        for (const d of [...all].reverse()) await store.insertDevice(d);
        expect(await store.listAllDevices({ limit: 100 })).toEqual(all);
        const pages: string[][] = [];
        let after: DevicePosition | undefined;
        for (;;) {
          const page = await store.listAllDevices({ limit: 3, after });
          if (page.length === 0) break;
          pages.push(page.map((d) => d.id));
          const last = page.at(-1) as Device;
          after = { createdAtMs: last.createdAt.getTime(), id: last.id };
        }
        expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
        expect(pages.flat()).toEqual(all.map((d) => d.id));
        // A position between ties, and one no device holds.
        expect(
          (await store.listAllDevices({ limit: 2, after: { createdAtMs: t, id: "a-tie" } })).map(
            (d) => d.id,
          ),
        ).toEqual(["a-tie-2", all[3]?.id]);
        expect(
          await store.listAllDevices({ limit: 10, after: { createdAtMs: t + 4, id: "" } }),
        ).toEqual([all[6]]);
        expect(
          await store.listAllDevices({ limit: 10, after: { createdAtMs: t + 3_600_000, id: "~" } }),
        ).toEqual([]);
      });

      it("filters all devices by status, user and text, and combines the filters", async () => {
        const store = await devices();
        const t = 1767225600000;
        const rows = [
          ["Alice@Example.com", "Work laptop", "active"],
          ["bob", "ALICE's old phone", "blocked"],
          ["zoë", "Zoë 100% _private_", "active"],
          ["carol", "Chrome on Linux", "active"],
        ] as const;
        const [alice, bob, zoe, carol] = rows.map(([userId, displayName, status], i) =>
          makeDeviceRecord({ userId, displayName, status, createdAt: new Date(t + i) }),
        ) as [Device, Device, Device, Device];
        for (const d of [alice, bob, zoe, carol]) await store.insertDevice(d);
        const ids = async (q: Omit<DeviceListQuery, "limit">) =>
          (await store.listAllDevices({ limit: 10, ...q })).map((d) => d.id);
        expect(await ids({ status: "blocked" })).toEqual([bob.id]);
        expect(await ids({ status: "active" })).toEqual([alice.id, zoe.id, carol.id]);
        expect(await ids({ userId: "bob" })).toEqual([bob.id]);
        expect(await ids({ userId: "Bob" })).toEqual([]);
        // ASCII letters in either case, in the user id or the name.
        expect(await ids({ query: "alice" })).toEqual([alice.id, bob.id]);
        expect(await ids({ query: "EXAMPLE.COM" })).toEqual([alice.id]);
        expect(await ids({ query: "LAPTOP" })).toEqual([alice.id]);
        // Other characters only themselves: no wildcards, no Unicode case folding.
        expect(await ids({ query: "%" })).toEqual([zoe.id]);
        expect(await ids({ query: "_p" })).toEqual([zoe.id]);
        expect(await ids({ query: "0% _" })).toEqual([zoe.id]);
        expect(await ids({ query: "o_" })).toEqual([]);
        expect(await ids({ query: "ZOË" })).toEqual([]);
        expect(await ids({ query: "zoë" })).toEqual([zoe.id]);
        expect(await ids({ query: "nobody" })).toEqual([]);
        expect(await ids({ query: "alice", status: "active" })).toEqual([alice.id]);
        expect(await ids({ query: "o", userId: "carol" })).toEqual([carol.id]);
        expect(
          await ids({ query: "o", after: { createdAtMs: t + 1, id: bob.id }, status: "active" }),
        ).toEqual([zoe.id, carol.id]);
      });

      it("keeps later pages stable while devices are inserted and deleted", async () => {
        const store = await devices();
        const t = 1767225600000;
        const first = Array.from({ length: 6 }, (_, i) =>
          makeDeviceRecord({ userId: `u${i % 3}`, createdAt: new Date(t + i * 10) }),
        );
        for (const d of first) await store.insertDevice(d);
        const page1 = await store.listAllDevices({ limit: 2 });
        const last = page1.at(-1) as Device;
        const after = { createdAtMs: last.createdAt.getTime(), id: last.id };
        // Before the position: never shows up later. After it: does. The position's own device
        // deleted: the next page still starts right after it.
        await store.insertDevice(makeDeviceRecord({ userId: "u9", createdAt: new Date(t + 1) }));
        const late = makeDeviceRecord({ userId: "u9", createdAt: new Date(t + 25) });
        await store.insertDevice(late);
        await store.deleteDevice(last.userId, last.id);
        await store.deleteDevice(first[3]?.userId as string, first[3]?.id as string);
        expect((await store.listAllDevices({ limit: 10, after })).map((d) => d.id)).toEqual([
          first[2]?.id,
          late.id,
          first[4]?.id,
          first[5]?.id,
        ]);
      });

      it("pages through the registry's listAll with opaque cursors and recognises active keys", async () => {
        const store = await devices();
        let nowMs = 1767225600000;
        // One millisecond apart, so the order is the registration order.
        const registry = createRegistry({ store, now: () => nowMs++ });
        const proof = proofOf(makeDeviceRecord());
        const made: Device[] = [];
        for (const user of ["u1", "u2", "u3", "u4", "u5"])
          made.push((await registry.register(user, proof)).device);
        await registry.block("u2", made[1]?.id as string);
        expect((await registry.recognize(proof)).map((d) => d.userId)).toEqual([
          "u1",
          "u3",
          "u4",
          "u5",
        ]);
        expect(await registry.count("u2")).toBe(1);
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await registry.listAll({ limit: 2, cursor });
          seen.push(...page.devices.map((d) => d.userId));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toEqual(["u1", "u2", "u3", "u4", "u5"]);
        const blocked = await registry.listAll({ status: "blocked" });
        expect(blocked).toEqual({ devices: [{ ...made[1], status: "blocked" }] });
      });

      it(`${options.devicesVersion ? "has" : "has no"} devicesVersion()`, async () => {
        const store = await devices();
        expect(typeof store.devicesVersion).toBe(options.devicesVersion ? "function" : "undefined");
      });

      // Only for stores that have it; the test above holds the others to not having it.
      if (options.devicesVersion)
        it("moves devicesVersion on every insert, delete and change, but not on lastSeenAt alone", async () => {
          const store = await devices();
          const version = () => (store.devicesVersion as () => number)();
          const moves = async (change: () => Promise<unknown>) => {
            const before = version();
            await change();
            return version() !== before;
          };
          const device = makeDeviceRecord({ userId: "u-version" });
          const { id, userId } = device;
          expect(await moves(() => store.insertDevice(device))).toBe(true);
          // Nothing inserted (the key is taken), nothing read: the version stays.
          expect(await moves(() => store.insertDevice({ ...device, id: "other" }))).toBe(false);
          expect(await moves(() => store.getDeviceByJkt(userId, device.jkt))).toBe(false);
          const later = new Date(device.lastSeenAt.getTime() + 60_000);
          expect(await moves(() => store.updateDevice(userId, id, { lastSeenAt: later }))).toBe(
            false,
          );
          expect(await moves(() => store.updateDevice(userId, id, { status: "blocked" }))).toBe(
            true,
          );
          expect(await moves(() => store.updateDevice(userId, id, { status: "active" }))).toBe(
            true,
          );
          expect(await moves(() => store.updateDevice(userId, id, { displayName: "Work" }))).toBe(
            true,
          );
          expect(await moves(() => store.updateDevice(userId, id, { metadata: { a: 1 } }))).toBe(
            true,
          );
          const second = makeDeviceRecord({ userId });
          expect(
            await moves(() =>
              store.insertDevice(second, { maxDevices: 1, onLimit: "evict-least-recently-seen" }),
            ),
          ).toBe(true);
          expect(await store.getDevice(userId, id)).toBeNull();
          expect(await moves(() => store.deleteDevice(userId, second.id))).toBe(true);
          expect(await moves(() => store.deleteDevice(userId, second.id))).toBe(false);
        });

      it("lets a registry see at once what was changed behind its back: block, rename, delete", async () => {
        const store = await devices();
        const registry = createRegistry({ store });
        const device = makeDeviceRecord({ userId: "u-behind" });
        await store.insertDevice(device);
        const proof = proofOf(device);
        // Twice, so a registry that keeps devices has this one kept.
        expect((await registry.isKnown(device.userId, proof)).status).toBe("active");
        expect((await registry.isKnown(device.userId, proof)).status).toBe("active");
        // Written straight to the store, as another process (or an administrator) would.
        await store.updateDevice(device.userId, device.id, { status: "blocked" });
        expect((await registry.isKnown(device.userId, proof)).status).toBe("blocked");
        await store.updateDevice(device.userId, device.id, {
          status: "active",
          displayName: "New",
        });
        const known = await registry.isKnown(device.userId, proof);
        expect(known).toMatchObject({ status: "active", device: { displayName: "New" } });
        // What the registry hands out is a copy: changing it changes nothing it keeps.
        (known.device as Device).status = "blocked";
        (known.device as Device).lastSeenAt.setTime(0);
        const again = await registry.isKnown(device.userId, proof);
        expect(again.status).toBe("active");
        expect(again.device?.lastSeenAt.getTime()).not.toBe(0);
        await store.deleteDevice(device.userId, device.id);
        expect((await registry.isKnown(device.userId, proof)).status).toBe("unknown");
      });

      it("returns copies: changing a returned device changes nothing stored", async () => {
        const store = await devices();
        const device = makeDeviceRecord({ metadata: { a: { b: 1 } } });
        const { device: returned } = (await store.insertDevice(device)) as { device: Device };
        returned.displayName = "mutated";
        (returned.metadata.a as { b: number }).b = 2;
        const read = (await store.getDevice(device.userId, device.id)) as Device;
        expect(read.displayName).toBe(device.displayName);
        expect(read.metadata).toEqual({ a: { b: 1 } });
      });
    });

    describe.runIf(options.replay !== false)("ReplayStore", () => {
      async function replay(): Promise<ReplayStore> {
        const store = (await fresh()) as unknown as ReplayStore;
        // Connect and migrate first, so the timing tests below time the store, not its start-up.
        await store.consume(`warm-up:${Math.random()}`, Date.now() + 60_000);
        return store;
      }

      it("consumes a key once until it expires", async () => {
        const store = await replay();
        const until = Date.now() + 60_000;
        expect(await store.consume("jti:a:1", until)).toBe(true);
        expect(await store.consume("jti:a:1", until)).toBe(false);
        expect(await store.consume("jti:a:2", until)).toBe(true);
      });

      it("accepts a key again after it expired", async () => {
        const store = await replay();
        // Long enough that a slow call under load does not outlive it, short enough to wait for.
        const until = Date.now() + 500;
        expect(await store.consume("short", until)).toBe(true);
        expect(await store.consume("short", until)).toBe(false);
        await sleep(800);
        expect(await store.consume("short", Date.now() + 60_000)).toBe(true);
        expect(await store.consume("short", Date.now() + 60_000)).toBe(false);
      });

      it("holds a key until its expiry instant, never frees it earlier, and frees it promptly", async () => {
        const store = await replay();
        const expiresAtMs = Date.now() + 250;
        expect(await store.consume("edge", expiresAtMs)).toBe(true);
        let freedAt = 0;
        while (freedAt === 0) {
          const fresh = await store.consume("edge", expiresAtMs + 60_000);
          const after = Date.now();
          // Whatever clock the store reads, it read it before this call returned.
          if (fresh) freedAt = after;
          else expect(after, "still held well after its expiry").toBeLessThan(expiresAtMs + 100);
        }
        expect(freedAt).toBeGreaterThanOrEqual(expiresAtMs);
        expect(await store.consume("edge", expiresAtMs + 60_000)).toBe(false);
      });

      it("records nothing for an expiry at or before now, however often it is asked", async () => {
        const store = await replay();
        for (let i = 0; i < 5; i++) {
          expect(await store.consume("born-expired", Date.now() - 1)).toBe(false);
          expect(await store.consume("born-expired", Date.now() - 60_000)).toBe(false);
        }
        // Nothing was written: the key is still free for a real record.
        expect(await store.consume("born-expired", Date.now() + 60_000)).toBe(true);
        // And an expired record is never rewritten with its own past expiry.
        const shortLived = Date.now() + 100;
        expect(await store.consume("rewritten", shortLived)).toBe(true);
        await sleep(250);
        for (let i = 0; i < 5; i++)
          expect(await store.consume("rewritten", shortLived)).toBe(false);
      });

      it("lets exactly one of 20 concurrent consumes of one key win", async () => {
        const store = await replay();
        const until = Date.now() + 60_000;
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.consume("race", until)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it("handles long and non-ASCII keys", async () => {
        const store = await replay();
        const key = `jti:${"k".repeat(300)}:é🔑`;
        expect(await store.consume(key, Date.now() + 60_000)).toBe(true);
        expect(await store.consume(key, Date.now() + 60_000)).toBe(false);
        expect(await store.consume(`${key}x`, Date.now() + 60_000)).toBe(true);
      });
    });

    // ---- DBSC sessions ----
    describe.runIf(options.dbsc !== false)("DbscSessionStore", () => {
      async function dbsc(): Promise<DbscSessionStore> {
        return (await fresh()) as unknown as DbscSessionStore;
      }
      const rsaJwk = { kty: "RSA", n: "n".repeat(342), e: "AQAB" } as const;

      it("stores a session and reads it back exactly; a second insert of its id changes nothing", async () => {
        const store = await dbsc();
        const session = makeDbscSessionRecord({ endReason: null });
        expect(await store.insertDbscSession(session)).toBe(true);
        expect(await store.getDbscSession(session.id)).toEqual(session);
        const other = makeDbscSessionRecord({ id: session.id, userId: "mallory" });
        expect(await store.insertDbscSession(other)).toBe(false);
        expect(await store.getDbscSession(session.id)).toEqual(session);
        expect(await store.getDbscSession("no-such-session")).toBeNull();
      });

      it("updates by compare-and-set on version, and refuses a stale version", async () => {
        const store = await dbsc();
        const session = makeDbscSessionRecord();
        await store.insertDbscSession(session);
        const refreshedAt = new Date(1767225600123);
        const active = await store.updateDbscSession(session.id, 1, {
          status: "active",
          alg: "RS256",
          publicJwk: rsaJwk,
          refreshedAt,
        });
        expect(active).toEqual({
          ...session,
          status: "active",
          alg: "RS256",
          publicJwk: rsaJwk,
          refreshedAt,
          version: 2,
        });
        expect(await store.updateDbscSession(session.id, 1, { status: "ended" })).toBeNull();
        expect(await store.getDbscSession(session.id)).toEqual(active);
        const ended = await store.updateDbscSession(session.id, 2, {
          status: "ended",
          endReason: "signed-out",
        });
        expect(ended).toMatchObject({ status: "ended", endReason: "signed-out", version: 3 });
        expect(ended?.publicJwk).toEqual(rsaJwk);
        expect(await store.updateDbscSession("no-such-session", 1, { status: "ended" })).toBeNull();
      });

      it("lets exactly one of 20 concurrent updates from one version win", async () => {
        const store = await dbsc();
        const session = makeDbscSessionRecord();
        await store.insertDbscSession(session);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.updateDbscSession(session.id, 1, { refreshedAt: new Date(1767225600000 + i) }),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await store.getDbscSession(session.id)).toEqual(winners[0]);
        expect((await store.getDbscSession(session.id))?.version).toBe(2);
      });

      it("forgets a session once its expiresAt has passed", async () => {
        const store = await dbsc();
        const session = makeDbscSessionRecord({ expiresAt: new Date(Date.now() + 200) });
        await store.insertDbscSession(session);
        expect((await store.getDbscSession(session.id))?.id).toBe(session.id);
        await sleep(400);
        expect(await store.getDbscSession(session.id)).toBeNull();
        expect(await store.updateDbscSession(session.id, 1, { status: "active" })).toBeNull();
        expect(await store.listDbscSessions(session.userId, session.deviceId)).toEqual([]);
        // Its id may be used again once it is forgotten.
        expect(
          await store.insertDbscSession({ ...session, expiresAt: new Date(Date.now() + 60_000) }),
        ).toBe(true);
      });

      it("an update can extend expiresAt", async () => {
        const store = await dbsc();
        const session = makeDbscSessionRecord({ expiresAt: new Date(Date.now() + 300) });
        await store.insertDbscSession(session);
        const later = new Date(Date.now() + 60_000);
        expect(
          (await store.updateDbscSession(session.id, 1, { expiresAt: later }))?.expiresAt,
        ).toEqual(later);
        await sleep(500);
        expect((await store.getDbscSession(session.id))?.expiresAt).toEqual(later);
      });

      it("lists a device's sessions, oldest first, and nothing of other devices or users", async () => {
        const store = await dbsc();
        const t = new Date(1767225600000);
        const later = makeDbscSessionRecord({ createdAt: new Date(t.getTime() + 5000) });
        const tieB = makeDbscSessionRecord({ id: "b-tie", createdAt: t });
        const tieA = makeDbscSessionRecord({ id: "a-tie", createdAt: t });
        const otherDevice = makeDbscSessionRecord({ deviceId: "device-2" });
        const otherUser = makeDbscSessionRecord({ userId: "user-2" });
        for (const s of [later, tieB, tieA, otherDevice, otherUser])
          await store.insertDbscSession(s);
        expect((await store.listDbscSessions("user-1", "device-1")).map((s) => s.id)).toEqual([
          "a-tie",
          "b-tie",
          later.id,
        ]);
        expect(await store.listDbscSessions("user-1", "device-2")).toEqual([otherDevice]);
        expect(await store.listDbscSessions("user-3", "device-1")).toEqual([]);
      });

      it("returns copies: changing a returned session changes nothing stored", async () => {
        const store = await dbsc();
        const session = makeDbscSessionRecord();
        await store.insertDbscSession(session);
        const read = (await store.getDbscSession(session.id)) as DbscSession;
        read.status = "ended";
        read.createdAt.setTime(0);
        expect(await store.getDbscSession(session.id)).toEqual(session);
      });
    });
    // ---- end DBSC sessions ----

    it("closes safely, twice", async () => {
      const store = await fresh();
      await store.close?.();
      await store.close?.();
    });
  });
}
