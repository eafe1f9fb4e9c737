import type { GoldenCheckResult } from '../inference/check-golden-examples.js';

/** What the health signals say about the candidate version right now. */
export interface HealthReport {
  /** `unknown` when there is too little traffic to judge: it neither blocks nor rolls back. */
  readonly verdict: 'healthy' | 'unhealthy' | 'unknown';
  /** Why, one line per signal (alarm names and states, error rate, p99). */
  readonly reasons: string[];
  /** Requests seen per version in the window (observed split), when the target measures it. */
  readonly requests?: Readonly<Record<string, number>>;
  /** Requests the candidate served since `sinceMs`; undefined = the target cannot tell (no evidence). */
  readonly candidateRequests?: number;
  /** The data is complete up to here (epoch ms). @default now */
  readonly settledUntilMs?: number;
}

/** What {@link RolloutTarget.health} is asked. */
export interface HealthQuery {
  /** The candidate's build, when the rollout has one. */
  readonly build?: string;
  /** Count the candidate's requests from here (epoch ms). */
  readonly sinceMs: number;
}

/** The routing the alias (AWS) or the local alias should have. */
export interface Routing {
  readonly stable: number;
  /** Absent, or with weight 0, when only the stable version serves. */
  readonly candidate?: number;
  /** Percent of traffic to the candidate. */
  readonly weight: number;
  /** The build serving the stable version. */
  readonly stableBuild?: string;
  /** The build serving the candidate. */
  readonly candidateBuild?: string;
}

/**
 * Where a rollout acts: the only part that differs between AWS (Lambda alias weights, CloudWatch alarms)
 * and the local stack (local alias weights, its own health window). The engine and its decisions are shared.
 */
export interface RolloutTarget {
  /** Makes the version routable (AWS: publishes a Lambda version bound to the model version) and returns its build. */
  prepare(model: string, version: number, options?: { readonly build?: string }): Promise<{ build?: string }>;
  /** Runs the manifest's golden examples against the version before it gets any traffic. */
  checkGolden(model: string, version: number, build?: string): Promise<GoldenCheckResult>;
  /** Applies the routing. */
  route(model: string, routing: Routing): Promise<void>;
  /**
   * The model version the unversioned routes serve while sluice holds no rollout state of the model (AWS: the
   * version `cdk deploy` put on the alias); the engine rolls out from it. Targets without one of their own
   * (the local stack, whose never-deployed models serve their newest version) leave it out, and the engine
   * takes the newest other published version.
   */
  servedVersion?(model: string): Promise<{ version: number; build?: string }>;
  /** Health of the candidate version. */
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
}
