// How every suite and benchmark launches Chromium: Debian's build (no browser download works
// here), headless, with background networking off so nothing reaches past loopback.
export const chromiumLaunchOptions = {
  executablePath: process.env.DEVICEBOUND_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

// DBSC (Device Bound Session Credentials) in Debian's Chromium 156: everything that depends on
// the build is here. It registers and refreshes with software keys only behind these features,
// only over HTTPS, and only when the certificate is trusted by its SPKI hash: plain
// http://localhost, --ignore-certificate-errors and Playwright's ignoreHTTPSErrors each turn DBSC
// off without a word. RefreshQuota/false lifts the signing quota that short test cookies hit.
// If a future build drops these switches, the DBSC suite fails (it asserts the registration).
export const DBSC_CHROMIUM_MAJOR = 156;
export const DBSC_FEATURES = [
  "DeviceBoundSessions:RefreshQuota/false",
  "EnableBoundSessionCredentialsSoftwareKeysForManualTesting",
];
/** Launch options for a Chromium that does DBSC against a server whose SPKI hash is given. */
export function chromiumDbscLaunchOptions(spkiSha256Base64) {
  return {
    ...chromiumLaunchOptions,
    args: [
      ...chromiumLaunchOptions.args,
      `--ignore-certificate-errors-spki-list=${spkiSha256Base64}`,
      `--enable-features=${DBSC_FEATURES.join(",")}`,
    ],
  };
}
/** The same browser without DBSC: the certificate trusted the same way, the features off. */
export function chromiumWithoutDbscLaunchOptions(spkiSha256Base64) {
  return {
    ...chromiumLaunchOptions,
    args: [
      ...chromiumLaunchOptions.args,
      `--ignore-certificate-errors-spki-list=${spkiSha256Base64}`,
      "--disable-features=DeviceBoundSessions",
    ],
  };
}
