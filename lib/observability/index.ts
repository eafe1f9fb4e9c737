export { EmfServingMetrics, MAX_OUTPUT_MEAN_METRICS } from './EmfServingMetrics.js';
export {
  InferenceStatistics,
  type InferenceStats,
  type InferenceTiming,
  type ModelStatistics,
  type StatisticDuration,
  type StatisticsResponse,
} from './InferenceStatistics.js';
export {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricDimension,
  MetricName,
  OUTPUT_MEAN_PREFIX,
} from './metric-names.js';
export { LATENCY_BUCKETS_SECONDS, PrometheusServingMetrics } from './PrometheusServingMetrics.js';
export { type InferenceRecord, NO_METRICS, type ServingMetrics } from './ServingMetrics.js';
export { type AwsClientTracer, traceAwsClient } from './trace-aws-client.js';
export { withLambdaContext } from './with-lambda-context.js';
