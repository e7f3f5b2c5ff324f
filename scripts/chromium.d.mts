export declare const chromiumLaunchOptions: {
  executablePath: string;
  headless: boolean;
  args: string[];
};
export declare const DBSC_CHROMIUM_MAJOR: number;
export declare const DBSC_FEATURES: string[];
export declare function chromiumDbscLaunchOptions(spkiSha256Base64: string): {
  executablePath: string;
  headless: boolean;
  args: string[];
};
export declare function chromiumWithoutDbscLaunchOptions(spkiSha256Base64: string): {
  executablePath: string;
  headless: boolean;
  args: string[];
};
