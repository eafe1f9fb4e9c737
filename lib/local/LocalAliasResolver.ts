import { gateSettingsOf } from '../core/rollout/gate-settings.js';
import { pickVersion } from '../core/rollout/pick-version.js';
import { RolloutConflictError } from '../core/rollout/RolloutConflictError.js';
import type { RolloutState } from '../core/rollout/RolloutState.js';
import { firstDeploy } from '../core/rollout/rollout-transitions.js';
import { routingOf } from '../core/rollout/routing-of.js';
import type { AnswerComparison } from '../core/stats/compare-answers.js';
import type { ModelResolver, ResolveOptions, ServedOutcome } from '../serving/ModelResolver.js';
import type { ShadowAssignment } from '../serving/shadow-run.js';
import type { HealthWindow } from './HealthWindow.js';
import type { RegistryResolver } from './RegistryResolver.js';

/** Who the local stack's own rollout events (pins, rollbacks) name as their actor. */
export const LOCAL_STACK_ACTOR = 'local-stack';

/** Reads a model's current rollout state; `RolloutStore` is one. */
export interface RolloutStateReader {
  /** The model's newest rollout state, or undefined when it never had one. */
  current(model: string): Promise<RolloutState | undefined>;
  /**
   * What {@link current} would answer from memory without waiting (`{ value: undefined }`: known to have none);
   * undefined when it would have to read. @default always undefined
   */
  currentNow?(model: string): { readonly value: RolloutState | undefined } | undefined;
}

/** Reads and writes rollout states; `RolloutStore` is one. */
export interface RolloutStateStore extends RolloutStateReader {
  /** Stores the next revision; throws RolloutConflictError when another writer took it first. */
  write(next: RolloutState): Promise<RolloutState>;
}

/** Options of {@link LocalAliasResolver}. */
export interface LocalAliasResolverOptions {
  /** Lists versions and answers for models without a rollout state (the newest version). */
  readonly registry: Pick<RegistryResolver, 'resolve' | 'versions' | 'models' | 'ready'> &
    Partial<Pick<RegistryResolver, 'resolveNow'>>;
  /**
   * Where the rollout state (the alias) is read from, and where a model's first pin is written: the stack's own
   * {@link LocalRolloutStates}, which every writer of the stack shares, so a write routes the next request.
   */
  readonly states: RolloutStateStore;
  /** Fed with every inference outcome. */
  readonly health: HealthWindow;
  /** The draws of weighted routing. @default Math.random */
  readonly random?: () => number;
  /** The draws that pick the requests a shadow candidate also answers, apart from routing's. @default Math.random */
  readonly shadowRandom?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
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
 *
 * @example
 * const resolver = new LocalAliasResolver({ registry: new RegistryResolver(registry), states: store, health });
 */
export class LocalAliasResolver implements ModelResolver {
  readonly #registry: LocalAliasResolverOptions['registry'];
  readonly #states: RolloutStateStore;
  readonly #health: HealthWindow;
  readonly #random: () => number;
  readonly #shadowRandom: () => number;
  readonly #now: () => number;

  constructor(options: LocalAliasResolverOptions) {
    this.#registry = options.registry;
    this.#states = options.states;
    this.#health = options.health;
    this.#random = options.random ?? Math.random;
    this.#shadowRandom = options.shadowRandom ?? Math.random;
    this.#now = options.now ?? Date.now;
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

  /**
   * {@link resolve} from memory: the newest version listed and the model's rollout state both known, the state not
   * the first pin to write. The routed draw is the one `resolve` would make.
   */
  resolveNow(model: string, options: ResolveOptions = {}): number | undefined {
    const newest = this.#registry.resolveNow?.(model);
    if (newest === undefined || options.explicitVersion) return newest;
    const state = this.#states.currentNow?.(model)?.value;
    return state === undefined ? undefined : pickVersion(routingOf(state), this.#random());
  }

  versions(model: string): Promise<number[]> {
    return this.#registry.versions(model);
  }

  models(): Promise<string[]> {
    return this.#registry.models();
  }

  ready(): Promise<boolean> {
    return this.#registry.ready();
  }

  served(model: string, version: number, outcome: ServedOutcome): void {
    this.#health.record(model, version, outcome, this.#now());
  }

  compared(model: string, candidate: number, comparison: AnswerComparison): void {
    this.#health.recordComparison(model, candidate, comparison, this.#now());
  }

  /**
   * The candidate that also answers a request of the stable version during a shadow phase: drawn for the plan's
   * shadow share of the requests; undefined otherwise.
   */
  async shadow(model: string, served: number): Promise<ShadowAssignment | undefined> {
    const state = await this.state(model);
    if (!state) return undefined;
    const routing = routingOf(state);
    const percent = routing.shadowPercent ?? 0;
    if (percent <= 0 || routing.candidate === undefined || served !== routing.stable) return undefined;
    if (this.#shadowRandom() * 100 >= percent) return undefined;
    return { candidate: routing.candidate, numericTolerance: gateSettingsOf(state.plan).numericTolerance };
  }

  /** The model's rollout state as routing sees it. */
  state(model: string): Promise<RolloutState | undefined> {
    return this.#states.current(model);
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
      const winner = await this.state(model);
      if (winner) return winner;
      throw error;
    }
    return pinned;
  }
}
