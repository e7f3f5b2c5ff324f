// The test certificate: well-formed for localhost, and served by node:https to a client that
// pins it.
import { createHash, X509Certificate } from "node:crypto";
import { createServer, get } from "node:https";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createTestCertificate } from "./certificate.js";

describe("createTestCertificate", () => {
  it("is a self-signed P-256 server certificate for localhost, 127.0.0.1 and ::1", () => {
    const made = createTestCertificate();
    const x509 = new X509Certificate(made.cert);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkHost("localhost")).toBe("localhost");
    expect(x509.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(x509.checkIP("::1")).toBe("::1");
    expect(x509.checkHost("example.com")).toBeUndefined();
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(x509.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: "prime256v1" });
    const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
    expect(made.spkiSha256).toBe(
      createHash("sha256")
        .update(x509.publicKey.export({ type: "spki", format: "der" }))
        .digest("base64"),
    );
  });

  it("serves HTTPS to a client that trusts exactly it", async () => {
    const { key, cert } = createTestCertificate();
    const server = createServer({ key, cert }, (_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const body = await new Promise<string>((resolve, reject) => {
        get(`https://localhost:${port}/`, { ca: cert }, (res) => {
          let text = "";
          res.on("data", (chunk) => (text += chunk));
          res.on("end", () => resolve(text));
        }).on("error", reject);
      });
      expect(body).toBe("ok");
    } finally {
      server.close();
    }
  });
});
