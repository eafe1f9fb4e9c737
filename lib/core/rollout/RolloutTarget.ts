import type { ReplayResult } from '../golden/replay-reference.js';
import type { GoldenCheckResult } from '../golden/run-golden-check.js';
import type { DifferenceFigures } from '../stats/compare-answers.js';

export type { DifferenceFigures } from '../stats/compare-answers.js';

/** What the health signals say about the candidate version right now. */
export interface HealthReport {
  /**
   * `unhealthy` rolls the candidate back at once. `unknown` (too little data to judge) and `healthy` never do;
   * only `healthy` with enough evidence ({@link candidateRequests}) lets a step be taken.
   */
  readonly verdict: 'healthy' | 'unhealthy' | 'unknown';
  /** Why, one line per signal (alarm names and states, error rate, p99, rejections). */
  readonly reasons: string[];
  /** Requests seen per version in the target's window (observed split), when the target measures it. */
  readonly requests?: Readonly<Record<string, number>>;
  /**
   * Requests the candidate answered since the query's `sinceMs` (every answer, errors and refusals included): the
   * evidence a step needs. Undefined when the target cannot tell, which counts as no evidence.
   */
  readonly candidateRequests?: number;
  /**
   * Epoch milliseconds up to which the health data is complete: metrics that arrive with a delay (CloudWatch)
   * make this earlier than now, and no step is taken on a bake whose end is not settled yet.
   * @default the time of the query
   */
  readonly settledUntilMs?: number;
  /**
   * The candidate's answers compared with the stable version's on the same requests since `sinceMs` (the shadow
   * phase): requests compared, and their disagreement, each request adding the share of its rows that disagreed
   * (see `disagreementShare`). Undefined when the target does not compare.
   */
  readonly agreement?: {
    readonly compared: number;
    readonly disagreed: number;
    /**
     * Of the compared requests, those on which each output disagreed on at least one row, by output name: which
     * output a rollback names. Absent when the target counts it only on asking ({@link RolloutTarget.disagreedOutputs}).
     */
    readonly byOutput?: Readonly<Record<string, number>>;
    /**
     * Per float output, the distribution over the compared requests of each request's largest relative difference
     * |candidate - stable| / max(1, |stable|): what the numeric tolerance bounds. Absent when the target does not
     * measure it.
     */
    readonly differences?: Readonly<Record<string, DifferenceFigures>>;
  };
  /**
   * Requests per class each version answered since `sinceMs` over the unversioned routes (the step's live
   * traffic), each request counted once, for the class most of its rows fell in (`requestClass`). Targets whose
   * count costs a query (AWS) leave it out and answer {@link RolloutTarget.classShares} instead.
   */
  readonly classShares?: {
    readonly stable: Readonly<Record<string, number>>;
    readonly candidate: Readonly<Record<string, number>>;
  };
}

/** What {@link RolloutTarget.classShares} answers: the counts, or why there are none. */
export type ClassSharesAnswer =
  | { readonly classShares: NonNullable<HealthReport['classShares']> }
  | { readonly unavailable: string };

/** What {@link RolloutTarget.health} is asked about. */
export interface HealthQuery {
  /** The candidate's build (AWS: its Lambda version), when the state names one. */
  readonly build?: string;
  /** Count the candidate's requests from here (epoch ms): the start of the current step. */
  readonly sinceMs: number;
  /** The stable version, for targets that judge the candidate against it (e.g. its share of refused inputs). */
  readonly stable?: number;
  /** In the shadow phase, the build that runs the candidate beside the stable version (its health counts too). */
  readonly shadowBuild?: string;
  /** The stable version's build, when the state names one: whose answers the class shares compare with. */
  readonly stableBuild?: string;
  /**
   * The requests the plan's step needs (`minRequests`): a target that needs a sample to judge its rates asks for no
   * more than this (so a plan of 5 is judged on 5, and one of 0 on what came, none included). @default the target's own
   */
  readonly minRequests?: number;
}

/** A model version as a target serves it: the version, and the target's build of it when it has builds. */
export interface PreparedVersion {
  /** The model version. */
  readonly version: number;
  /**
   * The target's own identity of what serves it (AWS: the published Lambda version number); absent locally.
   * Two builds of one model version differ when sluice's code or the function's configuration changed.
   */
  readonly build?: string;
}

/** What {@link RolloutTarget.prepare} takes. */
export interface PrepareOptions {
  /** Use this build (e.g. the Lambda version `cdk deploy` just published) rather than finding or making one. */
  readonly build?: string;
}

/** The routing the alias (AWS) or the local alias should have. */
export interface Routing {
  readonly stable: number;
  /** The stable version's build, when the target has builds. */
  readonly stableBuild?: string;
  /** Absent, or with weight 0, when only the stable version serves. */
  readonly candidate?: number;
  /** The candidate's build, when the target has builds. */
  readonly candidateBuild?: string;
  /** Percent of traffic to the candidate. */
  readonly weight: number;
  /**
   * Percent of the requests the stable version answers that the candidate also answers, unseen, and whose answers
   * are compared: the shadow phase. Absent (or 0) outside it.
   */
  readonly shadowPercent?: number;
  /** The build routed the shadow share, on targets whose shadow phase is a build of its own (AWS). */
  readonly shadowBuild?: string;
}

/** What {@link RolloutTarget.prepareShadow} takes. */
export interface ShadowBuildInput {
  /** The stable version and its build: what the shadow build's clients are answered by. */
  readonly stable: PreparedVersion;
  /** The candidate and its build: what runs on the same requests, unseen. */
  readonly candidate: PreparedVersion;
  /** Relative tolerance of numeric outputs in the comparison. */
  readonly numericTolerance: number;
}

/**
 * Where a rollout acts: the only part that differs between AWS (Lambda alias weights, CloudWatch metrics and
 * alarms) and the local stack (local alias weights, its own health window). The engine and its decisions are
 * shared, and the engine is the only thing that moves a model's traffic.
 */
export interface RolloutTarget {
  /**
   * Whether the target can run a shadow phase (route a share of requests to the candidate unseen and compare the
   * answers). A plan's shadow phase is dropped on a target that cannot, and the deploy says so. @default false
   */
  readonly shadows?: boolean;
  /**
   * Makes the version routable (AWS: publishes a Lambda version bound to the model version, or checks the one
   * given) and returns the build that serves it.
   */
  prepare(model: string, version: number, options?: PrepareOptions): Promise<PreparedVersion>;
  /** Runs the manifest's golden examples against the version (that build of it) before it gets any traffic. */
  checkGolden(model: string, version: number, build?: string): Promise<GoldenCheckResult>;
  /**
   * Makes the build a shadow phase routes its share to, on targets whose shadow phase needs one (AWS: a Lambda
   * version serving the stable version that runs the candidate too); returns its build. Targets that shadow in
   * process (the local stack) leave it out.
   */
  prepareShadow?(model: string, input: ShadowBuildInput): Promise<string>;
  /** Applies the routing. */
  route(model: string, routing: Routing): Promise<void>;
  /**
   * Replays the reference sets of the candidate and the stable version (whichever exist) through both, before any
   * traffic, and compares the answers; undefined when neither version has a set. Targets without it run no replay.
   */
  replay?(
    model: string,
    candidate: PreparedVersion,
    stable: PreparedVersion,
    numericTolerance: number,
  ): Promise<ReplayResult | undefined>;
  /**
   * The model version (and build) the unversioned routes serve while sluice holds no rollout state of the model;
   * the engine rolls out from it. Targets without one of their own leave it out, and the engine takes the newest
   * other published version.
   */
  servedVersion?(model: string): Promise<PreparedVersion>;
  /**
   * Of the requests the shadow phase compared from `query.sinceMs` to `query.untilMs` (the health read's settled
   * time, so the counts explain the same agreement), those on which each output disagreed, by output
   * name: asked once, when the phase rolls the candidate back, by targets whose health does not carry them (AWS,
   * where counting costs a query). Undefined when it cannot be told.
   */
  disagreedOutputs?(
    model: string,
    candidate: number,
    query: HealthQuery & { readonly untilMs: number },
  ): Promise<Readonly<Record<string, number>> | undefined>;
  /**
   * The class shares of the step, from `query.sinceMs` to `query.untilMs`, for targets whose health does not carry
   * them because counting costs (AWS: a Logs Insights query): the engine asks only when the step would otherwise
   * be taken, once per step.
   */
  classShares?(
    model: string,
    candidate: number,
    query: HealthQuery & { readonly untilMs: number },
  ): Promise<ClassSharesAnswer>;
  /** Health of the candidate version, with the evidence gathered since `query.sinceMs`. */
  health(model: string, candidate: number, query: HealthQuery): Promise<HealthReport>;
  /**
   * Requests per model version (keyed by the version number) that the model's unversioned routes sent to each
   * version recently: the traffic split actually observed, which `sluice status` shows next to the weights.
   */
  traffic(model: string): Promise<ObservedTraffic>;
}

/** The traffic split a target observed: requests per model version over a recent window. */
export interface ObservedTraffic {
  /** Requests per model version, keyed by the version number. */
  readonly requests: Readonly<Record<string, number>>;
  /** How far back the count goes, in milliseconds. */
  readonly windowMs: number;
  /**
   * Each version's drift figures per output (population stability of its answered classes, or of a numeric
   * output's values, against what it gave its reference set), keyed by version then output, for outputs that
   * filled a window (500 answers) in the target's reach: locally the latest window, on AWS the average over
   * {@link windowMs}. Absent when the target has none.
   */
  readonly drift?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}
