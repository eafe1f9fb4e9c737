import { LoadingCache } from '../core/cache/LoadingCache.js';
import { ModelNotFoundError } from '../core/errors/model-errors.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import type { ModelResolver } from './ModelResolver.js';
import type { ShadowAssignment } from './shadow-run.js';

/**
 * How long a listing of a model's versions is reused, in milliseconds. Only the metadata routes list versions, and
 * a Lambda function hears of no publish, so a new version shows in them within this lifetime.
 */
export const VERSION_LIST_TTL_MS = 30_000;

/** Options of {@link FixedVersionResolver}. */
export interface FixedVersionResolverOptions {
  /** The model the function serves. */
  readonly model: string;
  /** The version the unversioned routes serve. */
  readonly version: number;
  readonly registry: Pick<ModelRegistry, 'listVersions'>;
  /** True once the configured version is loaded: readiness. */
  readonly isReady: () => Promise<boolean>;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * In a shadow build: the candidate that answers every request of the served version too (the alias routes the
   * shadow share of the traffic to this build, so the sample is drawn there). @default none
   */
  readonly shadow?: ShadowAssignment;
}

/**
 * The Lambda resolver: one model, served at the version the function was deployed with.
 *
 * Explicit `/versions/{v}` routes of the same model still load other versions on demand.
 *
 * @example
 * new FixedVersionResolver({ model: 'iris', version: 3, registry, isReady: async () => true });
 */
export class FixedVersionResolver implements ModelResolver {
  readonly #options: FixedVersionResolverOptions;
  readonly #versions: LoadingCache<number[]>;
  /**
   * The shadow candidate of a shadow build, for every request of the served version; absent in any other build,
   * so a request there draws no shadow at all (no await on its path).
   */
  readonly shadow: ((model: string, served: number) => Promise<ShadowAssignment | undefined>) | undefined;

  constructor(options: FixedVersionResolverOptions) {
    this.#options = options;
    const { shadow } = options;
    this.shadow =
      shadow === undefined
        ? undefined
        : async (model, served) =>
            model === options.model && served === options.version ? shadow : undefined;
    this.#versions = new LoadingCache({
      load: (model) => options.registry.listVersions(model),
      ttlMs: VERSION_LIST_TTL_MS,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  async resolve(model: string): Promise<number> {
    const version = this.resolveNow(model);
    if (version === undefined) throw new ModelNotFoundError(model);
    return version;
  }

  /** The configured version for the served model; undefined (so {@link resolve} refuses it) for any other. */
  resolveNow(model: string): number | undefined {
    return model === this.#options.model ? this.#options.version : undefined;
  }

  async versions(model: string): Promise<number[]> {
    await this.resolve(model);
    return this.#versions.get(model);
  }

  async models(): Promise<string[]> {
    return [this.#options.model];
  }

  ready(): Promise<boolean> {
    return this.#options.isReady();
  }
}
