import { describe, expect, it } from "vitest";
import { RecentCache, timingSafeEqualText } from "./crypto-backend.js";

describe("RecentCache", () => {
  it("never holds more than maxEntries, however many are set", () => {
    const cache = new RecentCache<number, number>(100);
    for (let i = 0; i < 10_000; i++) cache.set(i, i);
    let held = 0;
    for (let i = 0; i < 10_000; i++) if (cache.get(i) !== undefined) held++;
    expect(held).toBeGreaterThanOrEqual(50);
    expect(held).toBeLessThanOrEqual(100);
  });

  it("refuses a bound it could not keep", () => {
    for (const bad of [0, 1, 2.5, Number.NaN])
      expect(() => new RecentCache(bad)).toThrow(TypeError);
    // An odd bound keeps two halves rounded down: never more than the bound.
    const cache = new RecentCache<number, number>(3);
    for (let i = 0; i < 100; i++) cache.set(i, i);
    const held = Array.from({ length: 100 }, (_, i) => cache.get(i)).filter((v) => v !== undefined);
    expect(held).toEqual([98, 99]);
  });

  it("keeps an entry read since it was set, and drops one nobody read", () => {
    const cache = new RecentCache<string, number>(4);
    cache.set("read", 1);
    cache.set("unread", 2);
    for (let i = 0; i < 3; i++) {
      cache.set(`filler-${i}`, i);
      expect(cache.get("read")).toBe(1);
    }
    expect(cache.get("unread")).toBeUndefined();
    expect(cache.get("read")).toBe(1);
  });

  it("replaces a value, deletes one key, and clears everything", () => {
    const cache = new RecentCache<string, number>(4);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    cache.set("a", 10);
    expect(cache.get("a")).toBe(10);
    cache.delete("b");
    expect(cache.get("b")).toBeUndefined();
    cache.clear();
    expect([cache.get("a"), cache.get("c")]).toEqual([undefined, undefined]);
  });
});

describe("timingSafeEqualText", () => {
  it("is true for equal strings only, lone surrogates included", () => {
    expect(timingSafeEqualText("abc", "abc")).toBe(true);
    expect(timingSafeEqualText("abc", "abd")).toBe(false);
    expect(timingSafeEqualText("abc", "ab")).toBe(false);
    expect(timingSafeEqualText("", "")).toBe(true);
    // Both encode to U+FFFD in UTF-8, but they are different strings.
    expect(timingSafeEqualText("u\ud800", "u\udc00")).toBe(false);
  });
});
