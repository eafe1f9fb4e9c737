import { pickVersion } from '../core/rollout/pick-version.js';
import { RolloutConflictError } from '../core/rollout/RolloutConflictError.js';
import type { RolloutState } from '../core/rollout/RolloutState.js';
import { firstDeploy } from '../core/rollout/rollout-transitions.js';
import { routingOf } from '../core/rollout/routing-of.js';
import type { ModelResolver, ResolveOptions, ServedOutcome } from '../serving/ModelResolver.js';
import type { HealthWindow } from './HealthWindow.js';
import type { RegistryResolver } from './RegistryResolver.js';

/**
 * How long the local alias reuses a model's rollout state, in milliseconds: short, because a weight written by
 * `sluice deploy` in another process must take effect at once, yet long enough that a burst of requests does
 * not turn into one store read each.
 */
export const LOCAL_ROUTING_TTL_MS = 250;

/** Who the local stack's own rollout events (pins, rollbacks) name as their actor. */
export const LOCAL_STACK_ACTOR = 'local-stack';

/** Reads a model's current rollout state; `RolloutStore` is one. */
export interface RolloutStateReader {
  /** The model's newest rollout state, or undefined when it never had one. */
  current(model: string): Promise<RolloutState | undefined>;
}

/** Reads and writes rollout states; `RolloutStore` is one. */
export interface RolloutStateStore extends RolloutStateReader {
  /** Stores the next revision; throws RolloutConflictError when another writer took it first. */
  write(next: RolloutState): Promise<RolloutState>;
}

/** Options of {@link LocalAliasResolver}. */
export interface LocalAliasResolverOptions {
  /** Lists versions and answers for models without a rollout state (the newest version). */
  readonly registry: Pick<RegistryResolver, 'resolve' | 'versions' | 'ready'>;
  /** Where the rollout state (the alias) is read from, and where a model's first pin is written. */
  readonly states: RolloutStateStore;
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
 * A model that never had a rollout has no alias yet: the first request to its unversioned routes pins its newest
 * published version as the stable one (a `deploy` event by `local-stack` in its history), so `sluice publish`
 * alone is enough to try a model locally. From then on the alias holds, as a Lambda alias does on AWS:
 * publishing a newer version changes nothing until `sluice deploy` rolls it out.
 *
 * Every inference outcome is recorded in the {@link HealthWindow}, which the local rollout driver and the health route read.
 * While the store cannot be read, the last state read keeps routing.
 *
 * @example
 * const resolver = new LocalAliasResolver({ registry: new RegistryResolver(registry), states: store, health });
 */
export class LocalAliasResolver implements ModelResolver {
  readonly #registry: Pick<RegistryResolver, 'resolve' | 'versions' | 'ready'>;
  readonly #states: RolloutStateStore;
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

  async resolve(model: string, options: ResolveOptions = {}): Promise<number> {
    // The listing also answers "is there such a model" (ModelNotFoundError) before any state is read.
    const newest = await this.#registry.resolve(model);
    // A request naming its version (a golden check among them) neither routes nor pins.
    if (options.explicitVersion) return newest;
    const state = (await this.state(model)) ?? (await this.#pin(model, newest));
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

  /** Writes the first state of a model that has none: its newest version, stable. Losing a race is fine. */
  async #pin(model: string, version: number): Promise<RolloutState> {
    const pinned = firstDeploy({
      model,
      version,
      actor: LOCAL_STACK_ACTOR,
      now: this.#now(),
      reason: `pinned by the first request to ${model}: v${version} was its newest version; \`sluice deploy\` rolls out others`,
    });
    try {
      await this.#states.write(pinned);
    } catch (error) {
      // Another request (or a `sluice deploy`) wrote the first state: route by that one.
      if (!(error instanceof RolloutConflictError)) throw error;
      this.invalidate(model);
      const winner = await this.state(model);
      if (winner) return winner;
      throw error;
    }
    this.invalidate(model);
    this.#lastRead.set(model, pinned);
    return pinned;
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
