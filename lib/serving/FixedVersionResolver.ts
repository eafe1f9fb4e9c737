import { ModelNotFoundError } from '../core/errors/model-errors.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import type { ModelResolver } from './ModelResolver.js';

/** How long a listing of a model's versions is reused, in milliseconds. */
export const VERSION_LIST_TTL_MS = 30_000;

/**
 * The Lambda resolver: one model, served at the version the function was deployed with.
 *
 * Explicit `/versions/{v}` routes of the same model still load other versions on demand.
 *
 * @example
 * new FixedVersionResolver({ model: 'iris', version: 3, registry, isLoaded: () => engine.peek('iris', 3) !== undefined });
 */
export class FixedVersionResolver implements ModelResolver {
  private listed: { at: number; versions: Promise<number[]> } | undefined;

  constructor(
    private readonly options: {
      readonly model: string;
      readonly version: number;
      readonly registry: Pick<ModelRegistry, 'listVersions'>;
      /** True once the configured version is loaded: readiness. */
      readonly isReady: () => Promise<boolean>;
    },
  ) {}

  async resolve(model: string): Promise<number> {
    if (model !== this.options.model) throw new ModelNotFoundError(model);
    return this.options.version;
  }

  async versions(model: string): Promise<number[]> {
    await this.resolve(model);
    const now = Date.now();
    if (!this.listed || now - this.listed.at > VERSION_LIST_TTL_MS) {
      const versions = this.options.registry.listVersions(model);
      versions.catch(() => {
        this.listed = undefined;
      });
      this.listed = { at: now, versions };
    }
    return this.listed.versions;
  }

  ready(): Promise<boolean> {
    return this.options.isReady();
  }
}
