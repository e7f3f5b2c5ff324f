// HTTPS for the demo (`HTTPS=1`): a self-signed certificate for localhost (made by
// `createTestCertificate` with node:crypto, no openssl needed) and kept in the data dir.
// Browsers are told to trust it by the SHA-256 of its public key (Chromium's
// --ignore-certificate-errors-spki-list), which DBSC needs: Chromium registers bound sessions
// only over HTTPS it trusts, never past a certificate error.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createTestCertificate,
  spkiSha256,
  type TestCertificate,
} from "@devicebound/server/testing";

export interface DemoCertificate extends TestCertificate {
  /** Whether this call made it (false: the one in the data dir was still good). */
  created: boolean;
}

/** A certificate this close to its end is replaced. */
const RENEW_BEFORE_MS = 24 * 3600_000;

/** The certificate kept in `dataDir`, made (or replaced when unreadable or ending) first. */
export function demoCertificate(dataDir: string, nowMs = Date.now()): DemoCertificate {
  const keyFile = join(dataDir, "tls-key.pem");
  const certFile = join(dataDir, "tls-cert.pem");
  if (existsSync(keyFile) && existsSync(certFile)) {
    try {
      const key = readFileSync(keyFile, "utf8");
      const cert = readFileSync(certFile, "utf8");
      const x509 = new X509Certificate(cert);
      if (
        x509.checkPrivateKey(createPrivateKey(key)) &&
        Date.parse(x509.validTo) - nowMs > RENEW_BEFORE_MS
      )
        return { key, cert, spkiSha256: spkiSha256(x509), created: false };
    } catch {
      // Unreadable: made again below.
    }
  }
  const made = createTestCertificate({ nowMs });
  writeFileSync(keyFile, made.key, { mode: 0o600 });
  writeFileSync(certFile, made.cert);
  return { ...made, created: true };
}
