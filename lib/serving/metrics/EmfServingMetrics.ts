import {
  ANSWERED_CLASS_PROPERTY,
  DISAGREED_OUTPUT_PROPERTY,
  MetricName,
} from '../../core/metrics/metric-names.js';
import { type AnswerComparison, disagreementShare } from '../../core/stats/compare-answers.js';
import { EmfDocuments, type EmfMetric } from './EmfDocuments.js';
import type { InferenceRecord, ServingMetrics } from './ServingMetrics.js';

/** Writes one line; on Lambda stdout is a pipe, and pipe writes are synchronous on Linux. */
export type LineWriter = (line: string) => void;

/** The metrics an inference document may carry, in the order it writes them. */
const INFERENCE_METRIC = {
  REQUESTS: { name: MetricName.REQUESTS, unit: 'Count' },
  LATENCY: { name: MetricName.LATENCY, unit: 'Milliseconds' },
  PREDICTIONS: { name: MetricName.PREDICTIONS, unit: 'Count' },
  REJECTED_INPUTS: { name: MetricName.REJECTED_INPUTS, unit: 'Count' },
  ERRORS: { name: MetricName.ERRORS, unit: 'Count' },
  INVALID_OUTPUTS: { name: MetricName.INVALID_OUTPUTS, unit: 'Count' },
} as const satisfies Record<string, EmfMetric>;

/** Answered classes whose document options are kept per routing (see `#documentOptions`). */
const MAX_CACHED_CLASSES = 1024;

/** A minute, the period of every version alarm (see `VERSION_ALARM_PERIOD_SECONDS`). */
const MINUTE_MS = 60_000;

/** Which optional metrics an inference document carries, as bits: the index of its metric set. */
const Carries = { LATENCY: 1, PREDICTIONS: 2, REJECTED: 4, ERROR: 8 } as const;

/**
 * The metric set of each combination of {@link Carries}, made once: the documents' fixed text is cached per set
 * (see `EmfDocuments`), so a request only appends its numbers.
 */
const INFERENCE_METRIC_SETS: readonly (readonly EmfMetric[])[] = Array.from({ length: 16 }, (_, bits) => [
  INFERENCE_METRIC.REQUESTS,
  ...(bits & Carries.LATENCY ? [INFERENCE_METRIC.LATENCY] : []),
  ...(bits & Carries.PREDICTIONS ? [INFERENCE_METRIC.PREDICTIONS] : []),
  ...(bits & Carries.REJECTED ? [INFERENCE_METRIC.REJECTED_INPUTS] : []),
  ...(bits & Carries.ERROR ? [INFERENCE_METRIC.ERRORS] : []),
  INFERENCE_METRIC.INVALID_OUTPUTS,
]);

const COMPARISON_METRICS: readonly EmfMetric[] = [
  { name: MetricName.SHADOW_COMPARED, unit: 'Count' },
  { name: MetricName.SHADOW_DISAGREED, unit: 'Count' },
];

const DIFFERENCE_METRIC: EmfMetric = { name: MetricName.SHADOW_DIFFERENCE, unit: 'None' };

const LOAD_METRICS: readonly EmfMetric[] = [
  { name: MetricName.MODEL_LOAD_TIME, unit: 'Milliseconds' },
  { name: MetricName.COLD_START, unit: 'Count' },
];

/**
 * Serving metrics as CloudWatch Embedded Metric Format ({@link EmfDocuments}): one document per request, printed
 * before the response is returned because Lambda may freeze the sandbox right after it.
 *
 * @example
 * const metrics = new EmfServingMetrics();
 * metrics.recordInference(record);
 */
export class EmfServingMetrics implements ServingMetrics {
  readonly #write: LineWriter;
  readonly #now: () => number;
  readonly #documents: EmfDocuments;
  /**
   * The minute of the last document that wrote every count, by model and version, `[direct, routed]`: nested maps,
   * found without building a key, as `EmfDocuments` finds its prefixes.
   */
  readonly #lastFullMinute = new Map<string, Map<number, [number, number]>>();
  /** The numbers of the document being written (see `recordInference`). */
  readonly #values: number[] = [];
  /** Inference documents' options by routing (`[direct, routed]`) and answered class ('' for none). */
  readonly #options = [
    new Map<string, { readonly routed: boolean; readonly properties?: Readonly<Record<string, string>> }>(),
    new Map<string, { readonly routed: boolean; readonly properties?: Readonly<Record<string, string>> }>(),
  ] as const;

  /**
   * @param write where the lines go. @default stdout
   * @param functionVersion the published Lambda version emitting; a routed request's documents are then under
   *   `service, Model, Version, FunctionVersion` (instead of `service, Model, Version`), which the alarms of that
   *   Lambda version watch. @default none
   * @param now the documents' timestamps (epoch ms). @default Date.now
   */
  constructor(
    write: LineWriter = (line) => process.stdout.write(line),
    functionVersion?: string,
    now: () => number = Date.now,
  ) {
    this.#write = write;
    this.#now = now;
    this.#documents = new EmfDocuments(functionVersion);
  }

  /**
   * One request's document. Lean: `RejectedInputs`, `Errors` and `Predictions` are written only when they are not
   * 0 (about 100 of a success's 600 bytes), except in the first document of each minute of a model, version and
   * routing, which writes every count, zeros included. The version alarms divide `FILL(x, 0)` by `Requests` (see
   * `versionAlarmSpecs`), and AWS's pages do not say that FILL makes datapoints of a metric with no data at all in
   * the range, so every minute with requests publishes each count at least once; the later zeros of the minute add
   * nothing to its Sum. `Requests` and `InvalidOutputs` are always written (`InvalidOutputs` is alarmed on alone).
   * A request that waited for its model's load writes no `Latency` (it would be the load's).
   */
  recordInference(record: InferenceRecord): void {
    const rejected = record.status >= 400 && record.status < 500;
    const error = record.status >= 500;
    const waited = record.waitedForLoad === true;
    const routed = record.routed ?? true;
    const now = this.#now();
    const full = this.#firstOfMinute(record.model, record.version, routed, now);
    const bits =
      (waited ? 0 : Carries.LATENCY) |
      (full || record.predictions > 0 ? Carries.PREDICTIONS : 0) |
      (full || rejected ? Carries.REJECTED : 0) |
      (full || error ? Carries.ERROR : 0);
    // One array for every document: `document` reads it before this returns.
    const values = this.#values;
    values.length = 0;
    values.push(1);
    if (!waited) values.push(record.latencyMs);
    if (bits & Carries.PREDICTIONS) values.push(record.predictions);
    if (bits & Carries.REJECTED) values.push(rejected ? 1 : 0);
    if (bits & Carries.ERROR) values.push(error ? 1 : 0);
    values.push(record.invalidOutputs);
    this.#write(
      this.#documents.document(
        record.model,
        record.version,
        INFERENCE_METRIC_SETS[bits] as readonly EmfMetric[],
        values,
        now,
        // The answered class is a property, not a metric: the class-share gate counts it with a Logs Insights query
        // at a step's end, so a model of 1,000 classes costs no custom metric per class.
        this.#documentOptions(routed, record.answeredClass),
      ),
    );
  }

  /**
   * The options of an inference document, one object per routing and answered class, made once: `EmfDocuments`
   * writes the properties of an options object it has seen from its own cache (no entries, no JSON per request).
   */
  #documentOptions(
    routed: boolean,
    answeredClass: string | undefined,
  ): { readonly routed: boolean; readonly properties?: Readonly<Record<string, string>> } {
    const byClass = this.#options[routed ? 1 : 0];
    const key = answeredClass ?? '';
    let options = byClass.get(key);
    if (options === undefined) {
      options =
        answeredClass === undefined
          ? { routed }
          : { routed, properties: { [ANSWERED_CLASS_PROPERTY]: answeredClass } };
      // A model's classes are few; a bound keeps a model of labels without end from growing this.
      if (byClass.size >= MAX_CACHED_CLASSES) byClass.clear();
      byClass.set(key, options);
    }
    return options;
  }

  /** True for the first inference document of `now`'s minute of this model, version and routing. */
  #firstOfMinute(model: string, version: number, routed: boolean, now: number): boolean {
    const minute = Math.floor(now / MINUTE_MS);
    let byVersion = this.#lastFullMinute.get(model);
    if (byVersion === undefined) {
      byVersion = new Map();
      this.#lastFullMinute.set(model, byVersion);
    }
    let minutes = byVersion.get(version);
    if (minutes === undefined) {
      minutes = [Number.NaN, Number.NaN];
      byVersion.set(version, minutes);
    }
    const slot = routed ? 1 : 0;
    if (minutes[slot] === minute) return false;
    minutes[slot] = minute;
    return true;
  }

  recordModelLoad(model: string, version: number, loadMs: number, coldStart: boolean): void {
    this.#write(
      this.#documents.document(model, version, LOAD_METRICS, [loadMs, coldStart ? 1 : 0], this.#now()),
    );
  }

  /**
   * The shadow comparison of one request, under the candidate's version: 1 compared, and its share of disagreeing
   * rows (0 to 1, see `disagreementShare`): what its shadow gate sums. Then, per float output, its largest relative
   * difference (`ShadowDifference` under the output: the distribution `status` shows), and one log line per output
   * that disagreed (`DisagreedOutput`, no metric): which output a shadow rollback names.
   */
  recordComparison(model: string, candidate: number, comparison: AnswerComparison): void {
    if (comparison.rows === 0) return;
    this.#write(
      this.#documents.document(
        model,
        candidate,
        COMPARISON_METRICS,
        [1, disagreementShare(comparison)],
        this.#now(),
      ),
    );
    for (const output of comparison.outputs) {
      if (output.kind !== 'exact' && Number.isFinite(output.maxRelativeDifference)) {
        this.#write(
          this.#documents.outputDocument(
            model,
            candidate,
            output.output,
            DIFFERENCE_METRIC,
            output.maxRelativeDifference,
            this.#now(),
          ),
        );
      }
      if (output.disagreements === 0) continue;
      this.#write(
        this.#documents.logLine(model, candidate, {
          [DISAGREED_OUTPUT_PROPERTY]: output.output,
          Rows: output.disagreements,
        }),
      );
    }
  }

  /**
   * The drift figure of one output of a version, once per window of its answers: under `service, Model, Version,
   * Output` and, for the model's drift alarm (which outlives versions), under `service, Model` too.
   */
  recordDrift(model: string, version: number, output: string, psi: number): void {
    this.#write(this.#documents.driftDocument(model, version, output, psi, this.#now()));
  }
}

/**
 * The metric lines a routed success writes on Lambda (with its Lambda version's dimension set), as `sluice cost` and
 * the bench price them: `full`, the first of a minute (every count, zeros included), and `lean`, the rest of the
 * minute's. Measured on the writer itself, so the figures follow any change to it.
 *
 * @example
 * const { lean } = successMetricLines(); // about 450 bytes
 */
export function successMetricLines(answeredClass?: string): { readonly full: string; readonly lean: string } {
  const lines: string[] = [];
  const metrics = new EmfServingMetrics(
    (line) => lines.push(line),
    '7',
    () => 1_800_000_000_000,
  );
  const success = {
    model: 'iris',
    version: 3,
    status: 200,
    latencyMs: 1.234,
    predictions: 1,
    invalidOutputs: 0,
    routed: true,
    ...(answeredClass === undefined ? {} : { answeredClass }),
  } as const;
  metrics.recordInference(success);
  metrics.recordInference(success);
  return { full: lines[0] ?? '', lean: lines[1] ?? '' };
}
