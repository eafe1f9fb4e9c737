import { LoadingCache } from '../core/cache/LoadingCache.js';
import { ModelNotFoundError } from '../core/errors/model-errors.js';
import { MANIFEST_OBJECT, MODELS_PREFIX } from '../core/manifest/registry-layout.js';
import { httpStatusOf } from '../serving/http-errors.js';
import type { ModelResolver } from '../serving/ModelResolver.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';

/** The key under which the list of models is cached. */
const MODELS_KEY = '';

/**
 * The local stack's registry view: every model in the registry is served, and a model's versions are listed once
 * and then kept until the store says a manifest of that model was written ({@link changed}), so a version
 * published while the stack runs answers at its next request, and no request waits for a listing it does not need.
 * While the store cannot be reached, a model's last listing stays in use, so versions already loaded keep serving.
 *
 * @example
 * const resolver = new RegistryResolver(registry);
 * store.onChange((key) => resolver.changed(key));
 */
export class RegistryResolver implements ModelResolver {
  readonly #versions: LoadingCache<number[]>;
  readonly #models: LoadingCache<string[]>;
  readonly #registry: Pick<ModelRegistry, 'listVersions' | 'listModels'>;

  constructor(registry: Pick<ModelRegistry, 'listVersions' | 'listModels'>) {
    this.#registry = registry;
    // A store failure (not an unknown model, which is the client's 404) answers with the last listing.
    const keepLastOn = (error: unknown): boolean => httpStatusOf(error) >= 500;
    this.#versions = new LoadingCache({ load: (model) => registry.listVersions(model), keepLastOn });
    this.#models = new LoadingCache({ load: () => registry.listModels(), keepLastOn });
  }

  async resolve(model: string): Promise<number> {
    const versions = await this.versions(model);
    const newest = versions.at(-1);
    if (newest === undefined) throw new ModelNotFoundError(model);
    return newest;
  }

  /** {@link resolve} from memory: the newest version of the listing held, undefined when it is not held. */
  resolveNow(model: string): number | undefined {
    return this.#versions.peek(model)?.value.at(-1);
  }

  versions(model: string): Promise<number[]> {
    return this.#versions.get(model);
  }

  /** The registry's models, as listed at start and after each publish. */
  models(): Promise<string[]> {
    return this.#models.get(MODELS_KEY);
  }

  /** Told of every object written or deleted in the registry bucket: a manifest changes what is published. */
  changed(key: string): void {
    if (!key.startsWith(MODELS_PREFIX) || !key.endsWith(`/${MANIFEST_OBJECT}`)) return;
    const model = key.slice(MODELS_PREFIX.length).split('/')[0];
    if (model !== undefined) this.#versions.invalidate(model);
    this.#models.invalidate(MODELS_KEY);
  }

  async ready(): Promise<boolean> {
    await this.#registry.listModels();
    return true;
  }
}
