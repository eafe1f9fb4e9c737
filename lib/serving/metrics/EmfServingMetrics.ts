import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricDimension,
  MetricName,
  OUTPUT_MEAN_PREFIX,
} from '../../core/metrics/metric-names.js';
import type { InferenceRecord, ServingMetrics } from './ServingMetrics.js';

/** Most output means emitted per request, so a model with many outputs cannot flood CloudWatch. */
export const MAX_OUTPUT_MEAN_METRICS = 8;

/** Writes one line; on Lambda stdout is a pipe, and pipe writes are synchronous on Linux. */
export type LineWriter = (line: string) => void;

const INFERENCE_METRICS = [
  [MetricName.REQUESTS, 'Count'],
  [MetricName.LATENCY, 'Milliseconds'],
  [MetricName.PREDICTIONS, 'Count'],
  [MetricName.REJECTED_INPUTS, 'Count'],
  [MetricName.ERRORS, 'Count'],
  [MetricName.INVALID_OUTPUTS, 'Count'],
] as const;

const LOAD_METRICS = [
  [MetricName.MODEL_LOAD_TIME, 'Milliseconds'],
  [MetricName.COLD_START, 'Count'],
] as const;

/**
 * Serving metrics as CloudWatch Embedded Metric Format: one EMF document per request, printed before the
 * response is returned because Lambda may freeze the sandbox right after it.
 *
 * The documents are written directly rather than through Powertools' Metrics: the format is small and
 * fixed, and building it by hand costs a fraction of a generic metrics store on every request. The
 * dimension set is `service`, `Model`, `Version`, the same as Powertools would emit.
 *
 * @example
 * const metrics = new EmfServingMetrics();
 * metrics.recordInference(record);
 */
export class EmfServingMetrics implements ServingMetrics {
  private readonly write: LineWriter;
  private readonly prefixes = new Map<string, string>();
  /** The dimension sets of every document, and the FunctionVersion field when there is one. */
  private readonly dimensions: string[][];
  private readonly functionVersion: Record<string, string>;

  /**
   * @param write where the lines go. @default stdout
   * @param functionVersion the published Lambda version emitting; adds the dimension set
   *   `service, Model, Version, FunctionVersion`, which the alarms of that Lambda version watch. @default none
   */
  constructor(write: LineWriter = (line) => process.stdout.write(line), functionVersion?: string) {
    this.write = write;
    const base = ['service', MetricDimension.MODEL, MetricDimension.VERSION];
    this.dimensions =
      functionVersion === undefined ? [base] : [base, [...base, MetricDimension.FUNCTION_VERSION]];
    this.functionVersion =
      functionVersion === undefined ? {} : { [MetricDimension.FUNCTION_VERSION]: functionVersion };
  }

  recordInference(record: InferenceRecord): void {
    const means = Object.entries(record.outputMeans).slice(0, MAX_OUTPUT_MEAN_METRICS);
    const prefix = this.prefix(
      record.model,
      record.version,
      means.map(([output]) => output),
    );
    const rejected = record.status >= 400 && record.status < 500 ? 1 : 0;
    const error = record.status >= 500 ? 1 : 0;
    let line =
      `${prefix}${Date.now()}}` +
      `,"${MetricName.REQUESTS}":1,"${MetricName.LATENCY}":${round(record.latencyMs)}` +
      `,"${MetricName.PREDICTIONS}":${record.predictions},"${MetricName.REJECTED_INPUTS}":${rejected}` +
      `,"${MetricName.ERRORS}":${error},"${MetricName.INVALID_OUTPUTS}":${record.invalidOutputs}`;
    for (const [output, mean] of means)
      line += `,${JSON.stringify(OUTPUT_MEAN_PREFIX + output)}:${finite(mean)}`;
    this.write(`${line}}\n`);
  }

  recordModelLoad(model: string, version: number, loadMs: number, coldStart: boolean): void {
    const document = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: this.dimensions,
            Metrics: LOAD_METRICS.map(([Name, Unit]) => ({ Name, Unit })),
          },
        ],
      },
      service: METRICS_SERVICE,
      [MetricDimension.MODEL]: model,
      [MetricDimension.VERSION]: String(version),
      ...this.functionVersion,
      [MetricName.MODEL_LOAD_TIME]: round(loadMs),
      [MetricName.COLD_START]: coldStart ? 1 : 0,
    };
    this.write(`${JSON.stringify(document)}\n`);
  }

  /** The EMF document up to its timestamp, cached per model, version and set of output names. */
  private prefix(model: string, version: number, outputs: string[]): string {
    const key = `${model}\u0000${version}\u0000${outputs.join('\u0000')}`;
    let prefix = this.prefixes.get(key);
    if (prefix === undefined) {
      const metrics = [
        ...INFERENCE_METRICS.map(([Name, Unit]) => ({ Name, Unit })),
        ...outputs.map((output) => ({ Name: OUTPUT_MEAN_PREFIX + output, Unit: 'None' })),
      ];
      const head = JSON.stringify({
        service: METRICS_SERVICE,
        [MetricDimension.MODEL]: model,
        [MetricDimension.VERSION]: String(version),
        ...this.functionVersion,
        _aws: {
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: this.dimensions,
              Metrics: metrics,
            },
          ],
        },
      });
      // Reopen the `_aws` object to append its Timestamp, which changes on every request.
      prefix = `${head.slice(0, -2)},"Timestamp":`;
      this.prefixes.set(key, prefix);
    }
    return prefix;
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** EMF values must be numbers; a non-finite mean (all outputs NaN) is reported as 0 and counted as invalid. */
function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
