import { MetricName } from '../core/metrics/metric-names.js';
import type { InferenceRecord, ServingMetrics } from '../serving/metrics/ServingMetrics.js';

/** Upper bounds of the latency histogram, in seconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

interface VersionFigures {
  requests: number;
  predictions: number;
  rejected: number;
  errors: number;
  invalidOutputs: number;
  latencySum: number;
  latencyBuckets: number[];
  loadSeconds: number;
  loads: number;
  coldStarts: number;
  outputMeans: Record<string, number>;
}

/**
 * The same per-model, per-version figures as the function's EMF, kept in memory and rendered in the
 * Prometheus text exposition format for `GET /metrics` on the local stack.
 *
 * @example
 * const metrics = new PrometheusServingMetrics();
 * response.end(metrics.render());
 */
export class PrometheusServingMetrics implements ServingMetrics {
  private readonly figures = new Map<string, VersionFigures>();

  recordInference(record: InferenceRecord): void {
    const figures = this.figuresOf(record.model, record.version);
    figures.requests++;
    figures.predictions += record.predictions;
    if (record.status >= 400 && record.status < 500) figures.rejected++;
    if (record.status >= 500) figures.errors++;
    figures.invalidOutputs += record.invalidOutputs;
    const seconds = record.latencyMs / 1000;
    figures.latencySum += seconds;
    LATENCY_BUCKETS_SECONDS.forEach((bound, index) => {
      if (seconds <= bound) figures.latencyBuckets[index] = (figures.latencyBuckets[index] ?? 0) + 1;
    });
    Object.assign(figures.outputMeans, record.outputMeans);
  }

  recordModelLoad(model: string, version: number, loadMs: number, coldStart: boolean): void {
    const figures = this.figuresOf(model, version);
    figures.loads++;
    figures.loadSeconds += loadMs / 1000;
    if (coldStart) figures.coldStarts++;
  }

  /** The figures in Prometheus text format (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    const family = (
      name: string,
      type: string,
      help: string,
      sample: (labels: string, f: VersionFigures) => string[],
    ) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [key, figures] of this.figures) lines.push(...sample(key, figures));
    };
    family(
      'sluice_requests_total',
      'counter',
      `Inference requests answered (${MetricName.REQUESTS}).`,
      (l, f) => [`sluice_requests_total{${l}} ${f.requests}`],
    );
    family('sluice_predictions_total', 'counter', 'Rows predicted.', (l, f) => [
      `sluice_predictions_total{${l}} ${f.predictions}`,
    ]);
    family('sluice_rejected_inputs_total', 'counter', 'Requests refused with a 4xx.', (l, f) => [
      `sluice_rejected_inputs_total{${l}} ${f.rejected}`,
    ]);
    family('sluice_errors_total', 'counter', 'Requests that failed with a 5xx.', (l, f) => [
      `sluice_errors_total{${l}} ${f.errors}`,
    ]);
    family('sluice_invalid_outputs_total', 'counter', 'NaN or infinite output values.', (l, f) => [
      `sluice_invalid_outputs_total{${l}} ${f.invalidOutputs}`,
    ]);
    family(
      'sluice_request_duration_seconds',
      'histogram',
      'Latency from request in to response out.',
      (l, f) => [
        ...LATENCY_BUCKETS_SECONDS.map(
          (bound, index) =>
            `sluice_request_duration_seconds_bucket{${l},le="${bound}"} ${f.latencyBuckets[index] ?? 0}`,
        ),
        `sluice_request_duration_seconds_bucket{${l},le="+Inf"} ${f.requests}`,
        `sluice_request_duration_seconds_sum{${l}} ${f.latencySum}`,
        `sluice_request_duration_seconds_count{${l}} ${f.requests}`,
      ],
    );
    family(
      'sluice_model_load_seconds',
      'summary',
      'Time to fetch, verify and load a model version.',
      (l, f) => [
        `sluice_model_load_seconds_sum{${l}} ${f.loadSeconds}`,
        `sluice_model_load_seconds_count{${l}} ${f.loads}`,
      ],
    );
    family('sluice_cold_starts_total', 'counter', 'First model loads of a process.', (l, f) => [
      `sluice_cold_starts_total{${l}} ${f.coldStarts}`,
    ]);
    family(
      'sluice_output_mean',
      'gauge',
      'Mean of each numeric output over the last request (drift).',
      (l, f) =>
        Object.entries(f.outputMeans).map(
          ([output, mean]) => `sluice_output_mean{${l},output="${escapeLabel(output)}"} ${mean}`,
        ),
    );
    return `${lines.join('\n')}\n`;
  }

  private figuresOf(model: string, version: number): VersionFigures {
    const key = `model="${escapeLabel(model)}",version="${version}"`;
    let figures = this.figures.get(key);
    if (!figures) {
      figures = {
        requests: 0,
        predictions: 0,
        rejected: 0,
        errors: 0,
        invalidOutputs: 0,
        latencySum: 0,
        latencyBuckets: [],
        loadSeconds: 0,
        loads: 0,
        coldStarts: 0,
        outputMeans: {},
      };
      this.figures.set(key, figures);
    }
    return figures;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
