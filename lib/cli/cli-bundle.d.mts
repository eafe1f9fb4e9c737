/** Types of cli-bundle.mjs (plain JavaScript: it runs before any TypeScript can). */

/** The project root. */
export declare const PROJECT_ROOT: string;
/** The CLI's TypeScript entry, relative to the project root. */
export declare const CLI_ENTRY: string;
/** Where builds are kept, relative to the project root (SLUICE_CLI_CACHE overrides it). */
export declare const CLI_CACHE_DIR: string;
/** The bundle's entry file inside a build's folder. */
export declare const BUNDLE_ENTRY: string;

/** Where a bundle is built from and kept. */
export interface BundleOptions {
  /** @default PROJECT_ROOT */
  readonly root?: string;
  /** @default CLI_ENTRY */
  readonly entry?: string;
  /** @default SLUICE_CLI_CACHE, or CLI_CACHE_DIR under the root */
  readonly cacheDir?: string;
}

/** A bundle as fresh as its sources. */
export interface FreshBundle {
  /** Absolute path of the bundle's entry (.mjs). */
  readonly path: string;
  /** True when this call built it. */
  readonly built: boolean;
}

/** The bundle of the CLI as its sources are now: the last build when none of its inputs changed, otherwise a new one. */
export declare function freshCliBundle(options?: BundleOptions): Promise<FreshBundle>;

/** Builds the bundle into the cache folder and records it as the newest build; returns its key. */
export declare function buildCliBundle(options: Required<BundleOptions>): Promise<string>;

/** Runs the CLI from its fresh bundle, building it first if a source changed. */
export declare function runCliBundle(): Promise<void>;
