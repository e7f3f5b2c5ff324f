// The demo's HTTPS certificate (made by createTestCertificate, tested beside it): kept across
// restarts, and made again when it is unreadable or ending.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { demoCertificate } from "./tls.js";

const fresh = () => mkdtempSync(join(tmpdir(), "devicebound-tls-"));

describe("demoCertificate", () => {
  it("keeps the one in the data dir, and replaces one that is unreadable or about to end", () => {
    const dir = fresh();
    const first = demoCertificate(dir);
    expect(first.created).toBe(true);
    const again = demoCertificate(dir);
    expect(again).toMatchObject({ created: false, spkiSha256: first.spkiSha256 });
    expect(readFileSync(join(dir, "tls-cert.pem"), "utf8")).toBe(first.cert);

    // 364.5 days on, less than a day is left: a new key and certificate.
    const late = demoCertificate(dir, Date.now() + 364.5 * 86_400_000);
    expect(late.created).toBe(true);
    expect(late.spkiSha256).not.toBe(first.spkiSha256);

    writeFileSync(join(dir, "tls-cert.pem"), "not a certificate");
    expect(demoCertificate(dir).created).toBe(true);
    // A key that does not belong to the certificate.
    writeFileSync(join(dir, "tls-key.pem"), demoCertificate(fresh()).key);
    expect(demoCertificate(dir).created).toBe(true);
  });
});
