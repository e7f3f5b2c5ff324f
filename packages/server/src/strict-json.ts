// A small strict JSON parser for proof headers and claims. JSON.parse silently keeps the last of
// duplicate keys and honours "__proto__", so two verifiers could read one proof differently;
// this parser refuses both, caps nesting, and returns objects without a prototype.

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const MAX_DEPTH = 16;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(): never {
    throw new SyntaxError(`invalid JSON at ${this.pos}`);
  }

  ws(): void {
    const t = this.text;
    let c = t.charCodeAt(this.pos);
    while (c === 32 || c === 9 || c === 10 || c === 13) c = t.charCodeAt(++this.pos);
  }

  value(depth: number): JsonValue {
    this.ws();
    const c = this.text.charCodeAt(this.pos);
    if (c === 123) return this.object(depth + 1);
    if (c === 91) return this.array(depth + 1);
    if (c === 34) return this.string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (this.text.startsWith("true", this.pos)) {
      this.pos += 4;
      return true;
    }
    if (this.text.startsWith("false", this.pos)) {
      this.pos += 5;
      return false;
    }
    if (this.text.startsWith("null", this.pos)) {
      this.pos += 4;
      return null;
    }
    return this.fail();
  }

  object(depth: number): JsonObject {
    if (depth > MAX_DEPTH) this.fail();
    this.pos++;
    const out: JsonObject = Object.create(null);
    this.ws();
    if (this.text.charCodeAt(this.pos) === 125) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text.charCodeAt(this.pos) !== 34) this.fail();
      const key = this.string();
      if (key === "__proto__" || Object.hasOwn(out, key)) this.fail();
      this.ws();
      if (this.text.charCodeAt(this.pos++) !== 58) this.fail();
      out[key] = this.value(depth);
      this.ws();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 125) return out;
      if (c !== 44) this.fail();
    }
  }

  array(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail();
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.text.charCodeAt(this.pos) === 93) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 93) return out;
      if (c !== 44) this.fail();
    }
  }

  string(): string {
    const t = this.text;
    const start = ++this.pos;
    // Fast path: no escapes.
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 34) return t.slice(start, this.pos++);
      if (c === 92) break;
      if (c < 32 || Number.isNaN(c)) this.fail();
      this.pos++;
    }
    let out = t.slice(start, this.pos);
    for (;;) {
      const c = t.charCodeAt(this.pos++);
      if (c === 34) return out;
      if (c < 32 || Number.isNaN(c)) this.fail();
      if (c !== 92) {
        out += t[this.pos - 1];
        continue;
      }
      const e = t[this.pos++];
      if (e === "u") {
        const hex = t.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail();
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.pos += 4;
      } else {
        const r = e === undefined ? undefined : ESCAPES[e];
        if (r === undefined) this.fail();
        out += r;
      }
    }
  }

  number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail();
    this.pos += match[0].length;
    const n = Number(match[0]);
    if (!Number.isFinite(n)) this.fail();
    return n;
  }
}

/** Parses `text` as one JSON object; throws SyntaxError on anything else or any trick. */
export function parseStrictJsonObject(text: string): JsonObject {
  const p = new Parser(text);
  p.ws();
  if (text.charCodeAt(p.pos) !== 123) p.fail();
  const value = p.object(0);
  p.ws();
  if (p.pos !== text.length) p.fail();
  return value;
}
