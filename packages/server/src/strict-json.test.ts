import { describe, expect, it } from "vitest";
import { parseStrictJsonObject } from "./strict-json.js";

describe("parseStrictJsonObject", () => {
  it("reads what JSON.parse reads", () => {
    const samples = [
      '{"a":1,"b":"x","c":[1,2,{"d":null}],"e":true,"f":false,"g":-1.5e3}',
      ' { "s" : "esc \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00" } ',
      '{"unicode":"é😀","empty":{},"list":[]}',
    ];
    for (const s of samples) expect({ ...parseStrictJsonObject(s) }).toEqual(JSON.parse(s));
  });

  it("refuses duplicate keys and __proto__", () => {
    expect(() => parseStrictJsonObject('{"a":1,"a":2}')).toThrow(SyntaxError);
    expect(() => parseStrictJsonObject('{"a":{"b":1,"b":1}}')).toThrow(SyntaxError);
    expect(() => parseStrictJsonObject('{"__proto__":{"x":1}}')).toThrow(SyntaxError);
    expect(() => parseStrictJsonObject('{"\\u005f_proto__":{}}')).toThrow(SyntaxError);
  });

  it("returns objects without a prototype", () => {
    const v = parseStrictJsonObject('{"constructor":1,"toString":2}');
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(v.toString).toBe(2);
  });

  it("refuses non-objects, trailing data, bad numbers, control characters and deep nesting", () => {
    for (const bad of [
      "[]",
      '"s"',
      "1",
      "{}x",
      '{"a":01}',
      '{"a":1.}',
      '{"a":NaN}',
      '{"a":1e999}',
      '{"a":"\u0001"}',
      '{"a":"\\x"}',
      '{"a":"\\u12"}',
      '{"a":1,}',
      '{"a" 1}',
      "{",
      '{"a":"unterminated}',
      `{"a":${"[".repeat(40)}${"]".repeat(40)}}`,
    ]) {
      expect(() => parseStrictJsonObject(bad), bad).toThrow(SyntaxError);
    }
  });
});
