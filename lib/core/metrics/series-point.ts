/**
 * One period of one model version's figures, as the console charts them: counts of every outcome, and latency
 * quantiles (null with no request). The local stack's health window and CloudWatch both give them.
 */
export interface SeriesPoint {
  /** The period's start, epoch milliseconds. */
  readonly at: number;
  /** Requests the alias routed. */
  readonly requests: number;
  /** Requests that named the version. */
  readonly direct: number;
  readonly errors: number;
  readonly rejected: number;
  readonly invalidOutputs: number;
  /** Shadow comparisons, and the disagreeing share summed over them. */
  readonly compared: number;
  readonly disagreed: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}
