import { ModelNotFoundError } from '../core/errors/model-errors.js';
import { httpStatusOf } from '../serving/http-errors.js';
import type { ModelResolver } from '../serving/ModelResolver.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';

/** How long the local resolver reuses a model's version listing, in milliseconds. */
export const LOCAL_LISTING_TTL_MS = 1_000;

/**
 * The local stack's resolver: every model in the registry is served; the unversioned routes answer with
 * the newest published version. A listing is reused for {@link LOCAL_LISTING_TTL_MS}, so a version
 * published while the stack runs is served within a second, with no restart. While the store cannot be
 * reached, a model's last listing stays in use, so versions already loaded keep serving.
 *
 * @example
 * const resolver = new RegistryResolver(registry);
 */
export class RegistryResolver implements ModelResolver {
  private readonly listings = new Map<string, { at: number; versions: Promise<number[]> }>();
  private readonly lastListed = new Map<string, number[]>();

  constructor(private readonly registry: Pick<ModelRegistry, 'listVersions' | 'listModels'>) {}

  async resolve(model: string): Promise<number> {
    const versions = await this.versions(model);
    const newest = versions.at(-1);
    if (newest === undefined) throw new ModelNotFoundError(model);
    return newest;
  }

  versions(model: string): Promise<number[]> {
    const now = Date.now();
    const cached = this.listings.get(model);
    if (cached && now - cached.at <= LOCAL_LISTING_TTL_MS) return cached.versions;
    const versions = this.list(model);
    versions.catch(() => this.listings.delete(model));
    this.listings.set(model, { at: now, versions });
    return versions;
  }

  /** Lists a model's versions; when the store fails (not when the model is unknown), the last listing answers. */
  private async list(model: string): Promise<number[]> {
    try {
      const versions = await this.registry.listVersions(model);
      this.lastListed.set(model, versions);
      return versions;
    } catch (error) {
      const last = this.lastListed.get(model);
      if (httpStatusOf(error) < 500 || !last) throw error;
      return last;
    }
  }

  async ready(): Promise<boolean> {
    await this.registry.listModels();
    return true;
  }
}
