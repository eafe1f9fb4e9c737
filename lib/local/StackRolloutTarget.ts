import type { GoldenCheckResult } from '../core/golden/run-golden-check.js';
import type {
  HealthQuery,
  HealthReport,
  ObservedTraffic,
  PreparedVersion,
  RolloutTarget,
  Routing,
} from '../core/rollout/RolloutTarget.js';
import { checkGoldenExamples } from '../serving/check-golden-examples.js';
import type { InferenceEngine } from '../serving/InferenceEngine.js';
import type { HealthWindow } from './HealthWindow.js';
import type { HealthThresholds } from './local-config.js';

/** The local alias's routing cache, which a routed state must reach at once. */
export interface RoutingCache {
  /** Forgets the model's cached state, so the next request routes by the store. */
  invalidate(model: string): void;
}

/** Options of {@link StackRolloutTarget}. */
export interface StackRolloutTargetOptions {
  /** Outcomes of every inference the stack served. */
  readonly health: HealthWindow;
  /** The limits candidates are judged against. */
  readonly thresholds: HealthThresholds;
  /** The local aliases. */
  readonly routing: RoutingCache;
  /** Loads versions (prepare, golden examples) in the stack's own session cache. */
  readonly engine: Pick<InferenceEngine, 'get'>;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The rollout target inside the local stack, for the stack's own rollout driver: the local counterpart of the
 * scheduler-driven function on AWS. It reads the stack's {@link HealthWindow} directly and routes by dropping the
 * alias's cached state (the alias routes by the stored state). `sluice` in another process reaches the same
 * signals over HTTP through `LocalRolloutTarget`.
 *
 * @example
 * const engine = new RolloutEngine({ store, registry, actor: 'local-stack',
 *   target: new StackRolloutTarget({ health, thresholds, routing: resolver, engine: inference }) });
 */
export class StackRolloutTarget implements RolloutTarget {
  readonly #options: StackRolloutTargetOptions;
  readonly #now: () => number;

  constructor(options: StackRolloutTargetOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Loads the version in the stack; a version that cannot load throws. */
  async prepare(model: string, version: number): Promise<PreparedVersion> {
    await this.#options.engine.get(model, version);
    return { version };
  }

  /** Runs the manifest's golden examples on the stack's own session of the version. */
  async checkGolden(model: string, version: number): Promise<GoldenCheckResult> {
    const { session, manifest } = await this.#options.engine.get(model, version);
    return checkGoldenExamples(session, manifest);
  }

  /** The alias routes by the stored state: the next request must read it. */
  async route(model: string, _routing: Routing): Promise<void> {
    this.#options.routing.invalidate(model);
  }

  /** The health window's verdict on the candidate, with the evidence since the step began. */
  async health(model: string, candidate: number, query: HealthQuery): Promise<HealthReport> {
    return this.#options.health.judge(model, candidate, this.#options.thresholds, this.#now(), {
      sinceMs: query.sinceMs,
      ...(query.stable === undefined ? {} : { stable: query.stable }),
    });
  }

  /** Requests per version the local alias routed in the health window. */
  async traffic(model: string): Promise<ObservedTraffic> {
    return {
      requests: this.#options.health.requests(model, this.#now()),
      windowMs: this.#options.health.windowMs,
    };
  }
}
