import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, METRICS_SERVICE, MetricDimension, MetricName, OUTPUT_MEAN_PREFIX } from './metric-names.js';
import type { InferenceRecord, ServingMetrics } from './ServingMetrics.js';

/** Most output means emitted per request, so a model with many outputs cannot flood CloudWatch. */
export const MAX_OUTPUT_MEAN_METRICS = 8;

/**
 * Serving metrics as CloudWatch Embedded Metric Format, one EMF document per request on stdout.
 *
 * @example
 * const metrics = new EmfServingMetrics();
 * metrics.recordInference(record); // printed immediately: Lambda may freeze right after the response
 */
export class EmfServingMetrics implements ServingMetrics {
  private readonly metrics: Metrics;

  constructor(metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE })) {
    this.metrics = metrics;
  }

  recordInference(record: InferenceRecord): void {
    const metrics = this.metrics;
    metrics.addDimensions({ [MetricDimension.MODEL]: record.model, [MetricDimension.VERSION]: String(record.version) });
    metrics.addMetric(MetricName.REQUESTS, MetricUnit.Count, 1);
    metrics.addMetric(MetricName.LATENCY, MetricUnit.Milliseconds, record.latencyMs);
    metrics.addMetric(MetricName.PREDICTIONS, MetricUnit.Count, record.predictions);
    metrics.addMetric(MetricName.REJECTED_INPUTS, MetricUnit.Count, record.status >= 400 && record.status < 500 ? 1 : 0);
    metrics.addMetric(MetricName.ERRORS, MetricUnit.Count, record.status >= 500 ? 1 : 0);
    metrics.addMetric(MetricName.INVALID_OUTPUTS, MetricUnit.Count, record.invalidOutputs);
    let emitted = 0;
    for (const [output, mean] of Object.entries(record.outputMeans)) {
      if (emitted++ >= MAX_OUTPUT_MEAN_METRICS) break;
      metrics.addMetric(`${OUTPUT_MEAN_PREFIX}${output}`, MetricUnit.NoUnit, mean);
    }
    metrics.publishStoredMetrics();
  }

  recordModelLoad(model: string, version: number, loadMs: number, coldStart: boolean): void {
    const metrics = this.metrics;
    metrics.addDimensions({ [MetricDimension.MODEL]: model, [MetricDimension.VERSION]: String(version) });
    metrics.addMetric(MetricName.MODEL_LOAD_TIME, MetricUnit.Milliseconds, loadMs);
    metrics.addMetric(MetricName.COLD_START, MetricUnit.Count, coldStart ? 1 : 0);
    metrics.publishStoredMetrics();
  }
}
