import type { AnswerComparison } from '../../core/stats/compare-answers.js';

/** What one inference request did, as the metrics see it. */
export interface InferenceRecord {
  readonly model: string;
  readonly version: number;
  /** HTTP status returned: 2xx served, 4xx rejected input, 5xx error. */
  readonly status: number;
  /** Milliseconds from the event in to the result out. */
  readonly latencyMs: number;
  /** Rows predicted (the first dimension of the first input); 0 when refused. */
  readonly predictions: number;
  /** Output values that are NaN or infinite: a model that emits them is misbehaving. */
  readonly invalidOutputs: number;
  /**
   * The class the answer counts for in the class-share gate (`requestClass`), on the unversioned routes of a model
   * with a class output; absent otherwise.
   */
  readonly answeredClass?: string;
  /**
   * False for a request that named its version (`/versions/{v}`, golden checks among them): counted for the model
   * version, never for the Lambda version's alarms, which judge only the traffic the alias routed. @default true
   */
  readonly routed?: boolean;
  /** True when the request waited for its model version to load: no latency is recorded for it. @default false */
  readonly waitedForLoad?: boolean;
}

/** Where the serving figures go: CloudWatch EMF on Lambda, a Prometheus registry locally. */
export interface ServingMetrics {
  /** Records one inference request (served, rejected or failed). */
  recordInference(record: InferenceRecord): void;
  /** Records one model version load; `coldStart` is true for the first load in this process. */
  recordModelLoad(model: string, version: number, loadMs: number, coldStart: boolean): void;
  /** Records a shadow candidate's answer to one request compared with the stable version's. */
  recordComparison?(model: string, candidate: number, comparison: AnswerComparison): void;
  /** Records a request drawn for the shadow phase that was not shadowed (the in-flight cap was reached). */
  recordShadowSkipped?(model: string, candidate: number): void;
  /** Records a version's drift figure, each time a window of its answers fills (see `DriftTally`). */
  recordDrift?(model: string, version: number, output: string, psi: number): void;
}

/** Metrics that go nowhere (tests, and tools that do not serve). */
export const NO_METRICS: ServingMetrics = {
  recordInference: () => undefined,
  recordModelLoad: () => undefined,
};
