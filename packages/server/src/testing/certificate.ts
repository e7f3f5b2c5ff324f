// A self-signed certificate for localhost, made with node:crypto alone (no openssl): what a
// DBSC test needs, since Chromium registers bound sessions only over HTTPS it trusts. Trust it
// by its SPKI hash (`--ignore-certificate-errors-spki-list`); a certificate error turns DBSC off.
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";

export interface TestCertificate {
  /** PEM private key (PKCS#8) and certificate, for `https.createServer`. */
  key: string;
  cert: string;
  /** Base64 SHA-256 of the certificate's SubjectPublicKeyInfo: what the browser flag takes. */
  spkiSha256: string;
}

/** The base64 SHA-256 of a certificate's SubjectPublicKeyInfo. */
export function spkiSha256(cert: string | Buffer | X509Certificate): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return createHash("sha256")
    .update(x509.publicKey.export({ type: "spki", format: "der" }))
    .digest("base64");
}

// ---- A minimal DER writer: just what one X.509 v3 certificate needs. ----
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const sequence = (...items: Buffer[]) => der(0x30, ...items);
const set = (...items: Buffer[]) => der(0x31, ...items);
function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}
function positiveInteger(bytes: Buffer): Buffer {
  return der(0x02, (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}
/** UTCTime (YYMMDDHHMMSSZ), good until 2049. */
const utcTime = (ms: number) =>
  der(0x17, Buffer.from(new Date(ms).toISOString().replace(/[-:T]/g, "").slice(2, 14).concat("Z")));

const ECDSA_WITH_SHA256 = sequence(oid("1.2.840.10045.4.3.2"));

/**
 * A P-256 server certificate for `localhost`, `127.0.0.1` and `::1`, signed by its own key,
 * valid from an hour before `nowMs` for `days` days (default 365).
 */
export function createTestCertificate(
  options: { nowMs?: number; days?: number } = {},
): TestCertificate {
  const nowMs = options.nowMs ?? Date.now();
  const days = options.days ?? 365;
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = sequence(
    set(sequence(oid("2.5.4.3"), der(0x0c, Buffer.from("devicebound demo (localhost)")))),
  );
  // subjectAltName: DNS localhost, IP 127.0.0.1 and ::1 (browsers match only these, not the CN).
  const altNames = sequence(
    der(0x82, Buffer.from("localhost")),
    der(0x87, Buffer.from([127, 0, 0, 1])),
    der(0x87, Buffer.from([...new Array(15).fill(0), 1])),
  );
  const extensions = der(
    0xa3,
    sequence(
      sequence(oid("2.5.29.17"), der(0x04, altNames)),
      // basicConstraints: not a CA; extendedKeyUsage: serverAuth.
      sequence(oid("2.5.29.19"), der(0x01, Buffer.from([0xff])), der(0x04, sequence())),
      sequence(oid("2.5.29.37"), der(0x04, sequence(oid("1.3.6.1.5.5.7.3.1")))),
    ),
  );
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    positiveInteger(randomBytes(16)),
    ECDSA_WITH_SHA256,
    name,
    // Valid from an hour ago (clock differences), for a year.
    sequence(utcTime(nowMs - 3600_000), utcTime(nowMs + days * 24 * 3600_000)),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    extensions,
  );
  const signature = sign("sha256", tbs, privateKey); // DER ECDSA-Sig-Value
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, der(0x03, Buffer.from([0]), signature));
  const pem = (label: string, body: Buffer) =>
    `-----BEGIN ${label}-----\n${body
      .toString("base64")
      .match(/.{1,64}/g)
      ?.join("\n")}\n-----END ${label}-----\n`;
  const cert = pem("CERTIFICATE", certificate);
  return {
    key: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    cert,
    spkiSha256: spkiSha256(cert),
  };
}
