/**
 * Names shared by the function's metrics (EMF), the local Prometheus endpoint and the stack's alarms.
 * Free of runtime imports so the CDK constructs can use it.
 */

/** CloudWatch namespace of sluice's own metrics. */
export const METRICS_NAMESPACE = 'Sluice';

/** Value of the `service` dimension Powertools adds to every metric. */
export const METRICS_SERVICE = 'sluice';

/** Dimension names on every per-model metric. */
export const MetricDimension = {
  MODEL: 'Model',
  VERSION: 'Version',
  /**
   * The Lambda version that emitted, in a second dimension set: the alarms of a new Lambda version watch only
   * its own requests, also when it serves the same model version as the one before (a change of sluice's code).
   */
  FUNCTION_VERSION: 'FunctionVersion',
  /** The output a drift figure is of (the class output's classes, or a numeric output's values). */
  OUTPUT: 'Output',
} as const;

/** The per-model, per-version metrics the function emits. */
export const MetricName = {
  /** Milliseconds from event in to result out. */
  LATENCY: 'Latency',
  /** Milliseconds to fetch, verify and load a model version. */
  MODEL_LOAD_TIME: 'ModelLoadTime',
  /** 1 for the first model load of a sandbox. */
  COLD_START: 'ColdStart',
  /** Rows predicted. */
  PREDICTIONS: 'Predictions',
  /** Requests refused with a 4xx. */
  REJECTED_INPUTS: 'RejectedInputs',
  /** Requests that failed with a 5xx. */
  ERRORS: 'Errors',
  /** NaN or infinite output values. */
  INVALID_OUTPUTS: 'InvalidOutputs',
  /**
   * A shadow comparison's largest |candidate - stable| / max(1, |stable|) of one float output of one request, under
   * the output's dimension: its p50 and p99 over the phase are what `status` shows beside the numeric tolerance.
   */
  SHADOW_DIFFERENCE: 'ShadowDifference',
  /** Requests answered, whatever the status. */
  REQUESTS: 'Requests',
  /** 1 when a sandbox's init ended before its model was loaded: the first request pays the rest of the load. */
  MODEL_LOAD_DEFERRED: 'ModelLoadDeferred',
  /** Requests a shadow candidate (the `Version`) answered unseen, compared with the stable version's answers. */
  SHADOW_COMPARED: 'ShadowCompared',
  /** Their disagreement: each request adds the share of its rows the candidate answered otherwise (0 to 1). */
  SHADOW_DISAGREED: 'ShadowDisagreed',
  /**
   * Population stability index of a window of the classes a version answered against its reference set's
   * (`DriftTally`): a monitoring figure, with a per-model alarm and a dashboard widget, never a rollback.
   */
  DRIFT_PSI: 'DriftPsi',
} as const;

/** One metric name. */
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/**
 * The member of a request's EMF document that names the class its answer counts for (`requestClass`), on the
 * unversioned routes: a log field, not a metric, which the class-share gate on AWS counts with Logs Insights.
 */
export const ANSWERED_CLASS_PROPERTY = 'AnsweredClass';

/**
 * The member of a shadow build's log line that names an output on which the candidate disagreed with the stable
 * version for one compared request (one line per such output): which output a shadow rollback names.
 */
export const DISAGREED_OUTPUT_PROPERTY = 'DisagreedOutput';
