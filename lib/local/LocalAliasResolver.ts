import type { ModelResolver, ServedOutcome } from '../http/ModelResolver.js';
import type { RolloutState } from '../rollout/RolloutState.js';
import { routingOf } from '../rollout/routing-of.js';
import type { HealthWindow } from './HealthWindow.js';
import { pickVersion } from './pick-version.js';
import type { RegistryResolver } from './RegistryResolver.js';

/**
 * How long the local alias reuses a model's rollout state, in milliseconds: short, because a weight written by
 * `sluice deploy` in another process must take effect at once, yet long enough that a burst of requests does
 * not turn into one store read each.
 */
export const LOCAL_ROUTING_TTL_MS = 250;

/** Reads a model's current rollout state; `RolloutStore` is one. */
export interface RolloutStateReader {
  /** The model's newest rollout state, or undefined when it never had one. */
  current(model: string): Promise<RolloutState | undefined>;
}

/** Options of {@link LocalAliasResolver}. */
export interface LocalAliasResolverOptions {
  /** Lists versions and answers for models without a rollout state (the newest version). */
  readonly registry: Pick<RegistryResolver, 'resolve' | 'versions' | 'ready'>;
  /** Where the rollout state (the alias) is read from. */
  readonly states: RolloutStateReader;
  /** Fed with every inference outcome. */
  readonly health: HealthWindow;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default LOCAL_ROUTING_TTL_MS */
  readonly ttlMs?: number;
}

/** A cached read of a model's rollout state. */
interface CachedState {
  readonly at: number;
  readonly state: Promise<RolloutState | undefined>;
}

/**
 * The local alias: serves a model's unversioned routes as its rollout state says, like a Lambda alias with
 * weighted routing. While a rollout is rolling, each request goes to the candidate with probability
 * `weight / 100` and to the stable version otherwise; while idle, the stable version serves everything.
 *
 * A model that never had a rollout has no alias yet: its newest published version serves, as the local stack
 * always did, so `sluice publish` alone is enough to try a model locally. Once a model has been deployed, the
 * alias pins it: publishing a newer version changes nothing until `sluice deploy` rolls it out.
 *
 * Every inference outcome is recorded in the {@link HealthWindow}, which the watchdog and the health route read.
 * While the store cannot be read, the last state read keeps routing.
 *
 * @example
 * const resolver = new LocalAliasResolver({ registry: new RegistryResolver(registry), states: store, health });
 */
export class LocalAliasResolver implements ModelResolver {
  readonly #registry: Pick<RegistryResolver, 'resolve' | 'versions' | 'ready'>;
  readonly #states: RolloutStateReader;
  readonly #health: HealthWindow;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, CachedState>();
  readonly #lastRead = new Map<string, RolloutState | undefined>();

  constructor(options: LocalAliasResolverOptions) {
    this.#registry = options.registry;
    this.#states = options.states;
    this.#health = options.health;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs ?? LOCAL_ROUTING_TTL_MS;
  }

  async resolve(model: string): Promise<number> {
    // The listing also answers "is there such a model" (ModelNotFoundError) before any state is read.
    const newest = await this.#registry.resolve(model);
    const state = await this.state(model);
    if (!state) return newest;
    const routing = routingOf(state);
    return pickVersion(routing, this.#random());
  }

  versions(model: string): Promise<number[]> {
    return this.#registry.versions(model);
  }

  ready(): Promise<boolean> {
    return this.#registry.ready();
  }

  served(model: string, version: number, outcome: ServedOutcome): void {
    this.#health.record(model, version, outcome, this.#now());
  }

  /** The model's rollout state as routing sees it: read at most once per TTL, the last one while the store fails. */
  state(model: string): Promise<RolloutState | undefined> {
    const now = this.#now();
    const cached = this.#cache.get(model);
    if (cached && now - cached.at <= this.#ttlMs) return cached.state;
    const state = this.#read(model);
    const entry = { at: now, state };
    this.#cache.set(model, entry);
    // A failed read is not cached: the next request tries the store again.
    state.catch(() => {
      if (this.#cache.get(model) === entry) this.#cache.delete(model);
    });
    return state;
  }

  /** Forgets cached states (one model's, or all), so the next request reads the store: a changed weight applies at once. */
  invalidate(model?: string): void {
    if (model === undefined) this.#cache.clear();
    else this.#cache.delete(model);
  }

  async #read(model: string): Promise<RolloutState | undefined> {
    try {
      const state = await this.#states.current(model);
      this.#lastRead.set(model, state);
      return state;
    } catch (error) {
      if (this.#lastRead.has(model)) return this.#lastRead.get(model);
      throw error;
    }
  }
}
