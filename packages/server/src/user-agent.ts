// A readable default name for a device, from its User-Agent: "Chrome on macOS".

const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\bOPR\/|\bOpera\b/, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\bCriOS\/|Chrome\/|\bChromium\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
];

const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/\biPhone\b/, "iPhone"],
  [/\biPad\b/, "iPad"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMacintosh\b|\bMac OS X\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

function first(table: ReadonlyArray<[RegExp, string]>, ua: string): string | undefined {
  for (const [pattern, name] of table) if (pattern.test(ua)) return name;
  return undefined;
}

/** "Chrome on macOS", "Safari on iPhone", "Unknown browser on Linux" or "Unknown browser". */
export function deviceNameFromUserAgent(userAgent: string | null | undefined): string {
  const ua = typeof userAgent === "string" ? userAgent.slice(0, 512) : "";
  const browser = first(BROWSERS, ua) ?? "Unknown browser";
  const system = first(SYSTEMS, ua);
  return system ? `${browser} on ${system}` : browser;
}
