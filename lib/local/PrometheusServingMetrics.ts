import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { MetricName } from '../core/metrics/metric-names.js';
import { type AnswerComparison, disagreementShare } from '../core/stats/compare-answers.js';
import type { InferenceRecord, ServingMetrics } from '../serving/metrics/ServingMetrics.js';

/** Upper bounds of the latency histogram, in seconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

/** The labels on every per-version figure. */
const VERSION_LABELS = ['model', 'version'] as const;

type VersionLabels = Record<(typeof VERSION_LABELS)[number], string>;

/** The label objects of one version, made once: prom-client hashes the object it is given on every update. */
interface VersionSeries {
  readonly labels: VersionLabels;
}

/**
 * The same per-model, per-version figures as the function's EMF, kept in a prom-client registry and rendered in the
 * Prometheus text exposition format for `GET /metrics` on the local stack.
 *
 * Each instance has its own {@link Registry}, never prom-client's global one, so that several stacks (or tests) in
 * one process keep their figures apart. Every figure of a version is shown from the first time the version is seen,
 * at zero until it moves, as prom-client recommends for labelled metrics
 * (https://github.com/siimots/prom-client#zeroing-metrics-with-labels): an absent series reads as no data, not as 0,
 * so a version's error rate would be empty rather than 0 until its first error. The load-time summary is the
 * exception: prom-client has no way to zero a summary, so a version that never loaded has no
 * `sluice_model_load_seconds` samples (the hand-written exposition showed them at 0).
 *
 * Cost, measured (Node 20, one million records over 12 versions): recording one inference takes about 3–4 µs here,
 * against 0.4–0.6 µs for the hand-written exposition this replaced; the app answers an iris request in about 250 µs
 * in-process and 2 ms over HTTP, so the library costs about 1% of the cheapest request and is kept. prom-client
 * validates and hashes the labels on every update; making each label object once per version (and output) rather
 * than once per record halved the cost.
 *
 * @example
 * const metrics = new PrometheusServingMetrics();
 * response.setHeader('content-type', metrics.contentType);
 * response.end(await metrics.render());
 */
export class PrometheusServingMetrics implements ServingMetrics {
  readonly #registry = new Registry();
  readonly #requests = new Counter({
    name: 'sluice_requests_total',
    help: `Inference requests answered (${MetricName.REQUESTS}).`,
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #predictions = new Counter({
    name: 'sluice_predictions_total',
    help: 'Rows predicted.',
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #rejected = new Counter({
    name: 'sluice_rejected_inputs_total',
    help: 'Requests refused with a 4xx.',
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #errors = new Counter({
    name: 'sluice_errors_total',
    help: 'Requests that failed with a 5xx.',
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #invalidOutputs = new Counter({
    name: 'sluice_invalid_outputs_total',
    help: 'NaN or infinite output values.',
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #latency = new Histogram({
    name: 'sluice_request_duration_seconds',
    help: 'Latency from request in to response out.',
    labelNames: VERSION_LABELS,
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers: [this.#registry],
  });
  readonly #loads = new Summary({
    name: 'sluice_model_load_seconds',
    help: 'Time to fetch, verify and load a model version.',
    labelNames: VERSION_LABELS,
    // Sum and count only: a few loads per version make no meaningful quantiles.
    percentiles: [],
    registers: [this.#registry],
  });
  readonly #coldStarts = new Counter({
    name: 'sluice_cold_starts_total',
    help: 'First model loads of a process.',
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #shadowCompared = new Counter({
    name: 'sluice_shadow_compared_total',
    help: "Requests a shadow candidate (version) answered unseen, compared with the stable version's answers.",
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #shadowDisagreed = new Counter({
    name: 'sluice_shadow_disagreed_total',
    help: 'Disagreement of a shadow candidate (version) with the stable version: each compared request adds the share of its rows that disagreed (0 to 1).',
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #shadowSkipped = new Counter({
    name: 'sluice_shadow_skipped_total',
    help: 'Requests drawn for the shadow phase of a candidate (version) that were not shadowed: the shadow runs in flight were at their cap.',
    labelNames: VERSION_LABELS,
    registers: [this.#registry],
  });
  readonly #drift = new Gauge({
    name: 'sluice_drift_psi',
    help: "Population stability index of the version's last window of 500 answers of one output (classes, or binned values) against its reference set's.",
    labelNames: [...VERSION_LABELS, 'output'],
    registers: [this.#registry],
  });
  /** The series of each version seen, by `version/model`. */
  readonly #versions = new Map<string, VersionSeries>();

  /** The media type of {@link render}'s text (Prometheus text format, version 0.0.4). */
  get contentType(): string {
    return this.#registry.contentType;
  }

  recordInference(record: InferenceRecord): void {
    const series = this.#seriesOf(record.model, record.version);
    const { labels } = series;
    this.#requests.inc(labels);
    if (record.predictions > 0) this.#predictions.inc(labels, record.predictions);
    if (record.status >= 400 && record.status < 500) this.#rejected.inc(labels);
    if (record.status >= 500) this.#errors.inc(labels);
    if (record.invalidOutputs > 0) this.#invalidOutputs.inc(labels, record.invalidOutputs);
    this.#latency.observe(labels, record.latencyMs / 1000);
  }

  recordModelLoad(model: string, version: number, loadMs: number, coldStart: boolean): void {
    const { labels } = this.#seriesOf(model, version);
    this.#loads.observe(labels, loadMs / 1000);
    if (coldStart) this.#coldStarts.inc(labels);
  }

  recordComparison(model: string, candidate: number, comparison: AnswerComparison): void {
    const { labels } = this.#seriesOf(model, candidate);
    if (comparison.rows === 0) return;
    this.#shadowCompared.inc(labels);
    const share = disagreementShare(comparison);
    if (share > 0) this.#shadowDisagreed.inc(labels, share);
  }

  /** Counts a request drawn for the shadow phase that was not shadowed. */
  recordShadowSkipped(model: string, candidate: number): void {
    this.#shadowSkipped.inc({ model, version: String(candidate) });
  }

  /** Sets a version's drift figure (see `DriftTally`). */
  recordDrift(model: string, version: number, output: string, psi: number): void {
    this.#drift.set({ model, version: String(version), output }, psi);
  }

  /** The figures in Prometheus text format (version 0.0.4). */
  render(): Promise<string> {
    return this.#registry.metrics();
  }

  /** The series of a version, zeroing its counters and histogram the first time it is seen. */
  #seriesOf(model: string, version: number): VersionSeries {
    // A version number has no '/', so the key names one model and version.
    const key = `${version}/${model}`;
    let series = this.#versions.get(key);
    if (!series) {
      const labels = { model, version: String(version) };
      for (const counter of [
        this.#requests,
        this.#predictions,
        this.#rejected,
        this.#errors,
        this.#invalidOutputs,
        this.#coldStarts,
      ]) {
        counter.inc(labels, 0);
      }
      this.#latency.zero(labels);
      series = { labels };
      this.#versions.set(key, series);
    }
    return series;
  }
}
