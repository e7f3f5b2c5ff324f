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
