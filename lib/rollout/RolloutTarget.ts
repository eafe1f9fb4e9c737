import type { GoldenCheckResult } from '../inference/check-golden-examples.js';

/** What the health signals say about the candidate version right now. */
export interface HealthReport {
  /** `unknown` when there is too little traffic to judge: it neither blocks nor rolls back. */
  readonly verdict: 'healthy' | 'unhealthy' | 'unknown';
  /** Why, one line per signal (alarm names and states, error rate, p99). */
  readonly reasons: string[];
  /** Requests seen per version in the window (observed split), when the target measures it. */
  readonly requests?: Readonly<Record<string, number>>;
}

/** The routing the alias (AWS) or the local alias should have. */
export interface Routing {
  readonly stable: number;
  /** Absent, or with weight 0, when only the stable version serves. */
  readonly candidate?: number;
  /** Percent of traffic to the candidate. */
  readonly weight: number;
}

/**
 * Where a rollout acts: the only part that differs between AWS (Lambda alias weights, CloudWatch alarms)
 * and the local stack (local alias weights, its own health window). The engine and its decisions are shared.
 */
export interface RolloutTarget {
  /** Refuses (throws with a clear message) when another path is moving this model's alias, e.g. a CodeDeploy deployment. */
  assertExclusive(model: string): Promise<void>;
  /** Makes the version routable (AWS: publishes a Lambda version bound to the model version) and returns nothing. */
  prepare(model: string, version: number): Promise<void>;
  /** Runs the manifest's golden examples against the version before it gets any traffic. */
  checkGolden(model: string, version: number): Promise<GoldenCheckResult>;
  /** Applies the routing. */
  route(model: string, routing: Routing): Promise<void>;
  /**
   * The model version the unversioned routes serve while sluice holds no rollout state of the model (AWS: the
   * version `cdk deploy` put on the alias); the engine rolls out from it. Targets without one of their own
   * (the local stack, whose never-deployed models serve their newest version) leave it out, and the engine
   * takes the newest other published version.
   */
  servedVersion?(model: string): Promise<number>;
  /** Health of the candidate version. */
  health(model: string, candidate: number): Promise<HealthReport>;
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
}
