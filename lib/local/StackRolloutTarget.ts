import type { GateThresholds } from '../core/gates/version-gates.js';
import { type ReplayResult, replayReference } from '../core/golden/replay-reference.js';
import type { GoldenCheckResult } from '../core/golden/run-golden-check.js';
import type {
  HealthQuery,
  HealthReport,
  ObservedTraffic,
  PreparedVersion,
  RolloutTarget,
  Routing,
} from '../core/rollout/RolloutTarget.js';
import type { DriftTallies } from '../core/stats/drift.js';
import { checkGoldenExamples } from '../serving/check-golden-examples.js';
import type { InferenceEngine } from '../serving/InferenceEngine.js';
import { sessionGoldenTransport } from '../serving/session-golden-transport.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import type { HealthWindow } from './HealthWindow.js';

/** Options of {@link StackRolloutTarget}. */
export interface StackRolloutTargetOptions {
  /** Outcomes of every inference the stack served. */
  readonly health: HealthWindow;
  /** The limits candidates are judged against. */
  readonly thresholds: GateThresholds;
  /** Loads versions (prepare, golden examples, replay) in the stack's own session cache. */
  readonly engine: Pick<InferenceEngine, 'get'>;
  /** Reads the versions' reference sets. */
  readonly registry: Pick<ModelRegistry, 'readReference'>;
  /** The stack's drift tallies, for the figures {@link StackRolloutTarget.traffic} reports. @default none */
  readonly drift?: Pick<DriftTallies, 'figures'>;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The rollout target inside the local stack, for the stack's own rollout driver: the local counterpart of the
 * scheduler-driven function on AWS. It reads the stack's {@link HealthWindow} directly; routing needs no act of its
 * own, since the local alias routes by the states the engine writes. `sluice --local` in another process reaches
 * the same engine through the stack's control routes.
 *
 * @example
 * const engine = new RolloutEngine({ store, registry, actor: 'local-stack',
 *   target: new StackRolloutTarget({ health, thresholds, engine: inference, registry }) });
 */
export class StackRolloutTarget implements RolloutTarget {
  /** The stack's app runs the shadow candidate on the same tensors. */
  readonly shadows = true;
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

  /**
   * Replays the reference sets of both versions through the stack's own sessions of them (in process, as the
   * golden examples run) and compares the answers; undefined when neither version has a set.
   */
  async replay(
    model: string,
    candidate: PreparedVersion,
    stable: PreparedVersion,
    numericTolerance: number,
  ): Promise<ReplayResult | undefined> {
    const { registry, engine } = this.#options;
    const [own, stables] = await Promise.all([
      registry.readReference(model, candidate.version),
      registry.readReference(model, stable.version),
    ]);
    if (!own && !stables) return undefined;
    const [candidateModel, stableModel] = await Promise.all([
      engine.get(model, candidate.version),
      engine.get(model, stable.version),
    ]);
    return replayReference({
      items: [...(own ?? []), ...(stables ?? [])],
      candidate: sessionGoldenTransport(candidateModel.session, candidateModel.manifest),
      stable: sessionGoldenTransport(stableModel.session, stableModel.manifest),
      outputs: stableModel.manifest.outputs,
      ...(stableModel.manifest.labels ? { labels: stableModel.manifest.labels } : {}),
      numericTolerance,
    });
  }

  /**
   * Nothing to do: the local alias routes by the stack's own rollout states, which the engine has just written
   * (the write is the routing).
   */
  async route(_model: string, _routing: Routing): Promise<void> {}

  /** The health window's verdict on the candidate, with the evidence since the step began. */
  async health(model: string, candidate: number, query: HealthQuery): Promise<HealthReport> {
    return this.#options.health.judge(model, candidate, this.#options.thresholds, this.#now(), {
      sinceMs: query.sinceMs,
      ...(query.stable === undefined ? {} : { stable: query.stable }),
      ...(query.minRequests === undefined ? {} : { minRequests: query.minRequests }),
    });
  }

  /** Requests per version the local alias routed in the health window, and the versions' drift figures. */
  async traffic(model: string): Promise<ObservedTraffic> {
    return {
      requests: this.#options.health.requests(model, this.#now()),
      windowMs: this.#options.health.windowMs,
      ...(this.#options.drift ? { drift: this.#options.drift.figures(model) } : {}),
    };
  }
}
