import type { AnswerComparison } from '../core/stats/compare-answers.js';
import type { ShadowAssignment } from './shadow-run.js';

/**
 * Decides which models a deployment serves and which version answers the unversioned routes.
 *
 * On Lambda the function serves one model at the version its configuration names; locally the
 * resolver reads the registry and the local aliases. The request pipeline is the same for both.
 */
export interface ModelResolver {
  /** The version that serves `POST /v2/models/{m}/infer`; throws ModelNotFoundError for a model not served here. */
  resolve(model: string, options?: ResolveOptions): Promise<number>;
  /**
   * What {@link resolve} would answer, when the resolver knows it from memory without waiting (no store read, no
   * write); undefined sends the request through {@link resolve}. A routed answer draws exactly as `resolve` does, so
   * the request path asks this first and calls `resolve` only on undefined, never both for one request.
   */
  resolveNow?(model: string, options?: ResolveOptions): number | undefined;
  /** The published versions of a served model, ascending; throws ModelNotFoundError. */
  versions(model: string): Promise<number[]>;
  /** The models served here (for `GET /openapi.json`). */
  models(): Promise<string[]>;
  /** True when the deployment can answer inference requests now. */
  ready(): Promise<boolean>;
  /** Called with the version that served a request, so weighted routing can account for it. */
  served?(model: string, version: number, outcome: ServedOutcome): void;
  /**
   * The candidate that also answers this request of an unversioned route, unseen, during a shadow phase (the
   * alias's shadow share, drawn per request); undefined when none does.
   */
  shadow?(model: string, served: number): Promise<ShadowAssignment | undefined>;
  /**
   * Called when a shadow candidate's answer to a request has been compared with the stable version's, after the
   * client got its answer.
   */
  compared?(model: string, candidate: number, comparison: AnswerComparison): void;
}

/** What {@link ModelResolver.resolve} is asked for. */
export interface ResolveOptions {
  /**
   * The request names its version: the resolver only confirms the model is served, and skips what routing a
   * request does (the local alias pins a never-deployed model at its first routed request).
   * @default false
   */
  readonly explicitVersion?: boolean;
}

/** What happened to one inference request, as seen by routing and health checks. */
export interface ServedOutcome {
  /** HTTP status returned. */
  readonly status: number;
  /** Milliseconds from request to response. */
  readonly latencyMs: number;
  /**
   * True when the resolver chose the version (an unversioned route), false for a `/versions/{v}` route;
   * only the former show how an alias splits traffic. Absent from callers that do not tell.
   */
  readonly routed?: boolean;
  /** NaN or infinite output values the answer held (0 when none, or when it was refused). @default 0 */
  readonly invalidOutputs?: number;
  /** True when the request waited for its model version to load: its latency is not the model's. @default false */
  readonly waitedForLoad?: boolean;
  /**
   * The class an answered request (status under 400) counts for in the class-share gate: the one most of its rows
   * fell in (`requestClass`), when the model has a class output. The same value the request's metrics carry.
   */
  readonly answeredClass?: string;
}
