import { DDSketch } from '@datadog/sketches-js';
import { VersionAlarmKind } from '../core/gates/version-alarm-name.js';
import { breachedGates, type GateFigures, type GateThresholds } from '../core/gates/version-gates.js';
import type { SeriesPoint } from '../core/metrics/series-point.js';
import { DEFAULT_MAX_SHADOW_MS } from '../core/rollout/gate-settings.js';
import type { DifferenceFigures, HealthReport } from '../core/rollout/RolloutTarget.js';
import { type AnswerComparison, disagreementShare } from '../core/stats/compare-answers.js';
import type { ServedOutcome } from '../serving/ModelResolver.js';

/** How far back the recent health window looks, in milliseconds: long enough for a few dozen requests, short enough to react. */
export const HEALTH_WINDOW_MS = 30_000;

/** Fewest requests of a version before a period is judged; below this the verdict is `unknown`. */
export const HEALTH_MIN_SAMPLES = 20;

/**
 * Relative accuracy of the latency quantiles: a reported p99 is within 1 % of the true one. DDSketch
 * (@datadog/sketches-js) guarantees it for any number of requests in bounded memory, and sketches of seconds merge
 * into the sketch of any period; a p99 of sorted samples needed every latency kept, or dropped the oldest.
 */
export const HEALTH_LATENCY_ACCURACY = 0.01;

/**
 * How long per-second counts are kept, in milliseconds: the longest step whose evidence the local stack can count
 * (6 hours, far beyond any local bake, and the longest shadow phase by default). Older buckets are dropped.
 */
export const HEALTH_RETENTION_MS = DEFAULT_MAX_SHADOW_MS;

/** Width of one count bucket, in milliseconds. */
const BUCKET_MS = 1_000;

/** The percentile of latency judged against the threshold. */
export const HEALTH_LATENCY_PERCENTILE = 0.99;

/** Options of {@link HealthWindow}. */
export interface HealthWindowOptions {
  /** @default HEALTH_WINDOW_MS */
  readonly windowMs?: number;
  /** @default HEALTH_MIN_SAMPLES */
  readonly minSamples?: number;
  /** @default HEALTH_RETENTION_MS */
  readonly retentionMs?: number;
}

/** The figures of one version over a period: what the gates judge, with the traffic the alias routed to it. */
export interface VersionFigures extends GateFigures {
  /** Requests that named the version (`/versions/{v}`, golden checks among them): reported, never judged. */
  readonly direct: number;
  /** Requests the version answered as a shadow candidate, its answers compared with the stable version's. */
  readonly compared: number;
  /**
   * Their disagreement: each request counts the share of its rows the version answered otherwise (0 to 1), so a
   * batch is one observation, as the sequential test needs (see `disagreementShare`).
   */
  readonly disagreed: number;
  /** Of the compared requests, those on which each output disagreed on at least one row, by output name. */
  readonly disagreedOutputs: Readonly<Record<string, number>>;
  /** Per float output, the distribution of the compared requests' largest relative differences. */
  readonly differences: Readonly<Record<string, DifferenceFigures>>;
  /**
   * Answers to routed requests per class, each request counted once, for the class most of its rows fell in (a
   * 4-row request of 3 setosa and 1 virginica counts 1 setosa; `requestClass`): the class-share test counts
   * requests, not correlated rows, the same way on AWS.
   */
  readonly classes: Readonly<Record<string, number>>;
}

/** What {@link HealthWindow.judge} judges besides the recent window. */
export interface JudgeOptions {
  /** The current step's start (epoch ms): evidence and the step's own figures count from here. */
  readonly sinceMs?: number;
  /** The stable version, whose share of refused inputs the candidate's is compared with. */
  readonly stable?: number;
  /** The requests the plan's step needs: fewer than `minSamples` lowers the sample the rates are judged on. */
  readonly minRequests?: number;
}

/** One minute of a candidate's relative differences, a sketch per output. */
interface DifferenceBucket {
  readonly minute: number;
  readonly sketches: Map<string, DDSketch>;
}

/** Width of one difference bucket, in milliseconds. */
const DIFFERENCE_BUCKET_MS = 60_000;

/** Counts and latencies of one second. */
interface Bucket {
  readonly second: number;
  /** Requests the alias routed (unversioned routes): the traffic it was given, and all the gates judge. */
  requests: number;
  /** Requests that named the version (`/versions/{v}`, golden checks among them): reported, never judged. */
  direct: number;
  errors: number;
  rejected: number;
  invalidOutputs: number;
  compared: number;
  disagreed: number;
  readonly disagreedOutputs: Map<string, number>;
  readonly classes: Map<string, number>;
  readonly latencies: DDSketch;
}

/**
 * Inference outcomes per model and version: the local stack's health signal, what CloudWatch metrics and alarms
 * are on AWS, judged by the same gates ({@link breachedGates}). Counts are exact and latency quantiles within
 * {@link HEALTH_LATENCY_ACCURACY}, per second, kept for `retentionMs`.
 *
 * Pure data: fed by the resolver's `served()` hook, judged by the local rollout driver and the `/_sluice/health`
 * route; the caller passes the clock reading, so it is tested without timers.
 *
 * @example
 * const window = new HealthWindow();
 * window.record('iris', 2, { status: 500, latencyMs: 3 }, Date.now());
 * const thresholds = { errorRatePercent: 5, p99LatencyMs: 1000, invalidOutputs: 1, rejectedInputsPercent: 10 };
 * window.judge('iris', 2, thresholds, Date.now()).verdict; // 'unknown' (too few)
 */
export class HealthWindow {
  readonly windowMs: number;
  readonly minSamples: number;
  readonly retentionMs: number;
  /** Per-second buckets by model, then by version, oldest first. */
  readonly #records = new Map<string, Map<number, Bucket[]>>();
  /**
   * The shadow comparisons' relative differences per output, in sketches per minute (not per second: a sketch is a
   * few kilobytes, and six hours of seconds would hold thousands), by model, then version, oldest first.
   */
  readonly #differences = new Map<string, Map<number, DifferenceBucket[]>>();

  constructor(options: HealthWindowOptions = {}) {
    this.windowMs = options.windowMs ?? HEALTH_WINDOW_MS;
    this.minSamples = options.minSamples ?? HEALTH_MIN_SAMPLES;
    this.retentionMs = options.retentionMs ?? HEALTH_RETENTION_MS;
  }

  /**
   * Records one inference answered by `version` of `model` at `at` (ms since the epoch): its status, latency and
   * invalid outputs, and the class a routed answer counts for (`answeredClass`, which the app gives answered
   * requests only, as it writes it into the request's metrics on AWS).
   */
  record(model: string, version: number, outcome: ServedOutcome, at: number): void {
    const bucket = this.#bucket(model, version, at);
    // A request that named its version (a smoke test, a golden check) is not traffic the alias gave the version:
    // counted apart, never judged, as the version alarms on AWS never see it.
    if (outcome.routed === false) {
      bucket.direct++;
      return;
    }
    bucket.requests++;
    if (outcome.status >= 500) bucket.errors++;
    else if (outcome.status >= 400) bucket.rejected++;
    bucket.invalidOutputs += outcome.invalidOutputs ?? 0;
    // A request that waited for its model to load is counted, but its latency is the load's, not the model's.
    if (outcome.waitedForLoad !== true) bucket.latencies.accept(Math.max(0, outcome.latencyMs));
    const answered = outcome.answeredClass;
    if (answered !== undefined) bucket.classes.set(answered, (bucket.classes.get(answered) ?? 0) + 1);
  }

  /**
   * Records a shadow candidate's answer to one request compared with the stable version's, at `at` when the
   * comparison finished: one compared request, its share of disagreeing rows, counted for the candidate.
   */
  recordComparison(model: string, candidate: number, comparison: AnswerComparison, at: number): void {
    if (comparison.rows === 0) return;
    const bucket = this.#bucket(model, candidate, at);
    bucket.compared++;
    bucket.disagreed += disagreementShare(comparison);
    const minute = this.#differenceBucket(model, candidate, at);
    for (const output of comparison.outputs) {
      if (output.disagreements > 0) {
        bucket.disagreedOutputs.set(output.output, (bucket.disagreedOutputs.get(output.output) ?? 0) + 1);
      }
      if (output.kind === 'exact' || !Number.isFinite(output.maxRelativeDifference)) continue;
      let sketch = minute.sketches.get(output.output);
      if (!sketch) {
        sketch = new DDSketch({ relativeAccuracy: HEALTH_LATENCY_ACCURACY });
        minute.sketches.set(output.output, sketch);
      }
      sketch.accept(output.maxRelativeDifference);
    }
  }

  /** The difference bucket of `version`'s minute `at`, made (and old ones pruned) as needed. */
  #differenceBucket(model: string, version: number, at: number): DifferenceBucket {
    const buckets = versionBuckets(this.#differences, model, version);
    const minute = Math.floor(at / DIFFERENCE_BUCKET_MS);
    let bucket = buckets.at(-1);
    if (!bucket || bucket.minute !== minute) {
      bucket = { minute, sketches: new Map() };
      buckets.push(bucket);
      const oldest = Math.floor((at - this.retentionMs) / DIFFERENCE_BUCKET_MS);
      while (buckets.length > 0 && (buckets[0] as DifferenceBucket).minute < oldest) buckets.shift();
    }
    return bucket;
  }

  /**
   * Per float output, the p50 and p99 of the relative differences `version` was compared with, over the minutes
   * that overlap `(from, to]` (minute buckets: the window is widened to whole minutes).
   */
  #differenceFigures(
    model: string,
    version: number,
    from: number,
    to: number,
  ): Record<string, DifferenceFigures> {
    const merged = new Map<string, DDSketch>();
    const fromMinute = Math.floor(from / DIFFERENCE_BUCKET_MS);
    const toMinute = Math.floor(to / DIFFERENCE_BUCKET_MS);
    for (const bucket of this.#differences.get(model)?.get(version) ?? []) {
      if (bucket.minute < fromMinute || bucket.minute > toMinute) continue;
      for (const [output, sketch] of bucket.sketches) {
        const into = merged.get(output) ?? new DDSketch({ relativeAccuracy: HEALTH_LATENCY_ACCURACY });
        into.merge(sketch);
        merged.set(output, into);
      }
    }
    const figures: Record<string, DifferenceFigures> = {};
    for (const [output, sketch] of merged) {
      figures[output] = {
        compared: sketch.count,
        p50: sketch.getValueAtQuantile(0.5),
        p99: sketch.getValueAtQuantile(0.99),
      };
    }
    return figures;
  }

  /** The bucket of `version`'s second `at`, made (and old ones pruned) when it is the first outcome of that second. */
  #bucket(model: string, version: number, at: number): Bucket {
    const buckets = versionBuckets(this.#records, model, version);
    const second = Math.floor(at / BUCKET_MS);
    let bucket = buckets.at(-1);
    if (!bucket || bucket.second !== second) {
      bucket = { second, ...emptyCounts(), disagreedOutputs: new Map(), classes: new Map() };
      buckets.push(bucket);
      this.#prune(buckets, at);
    }
    return bucket;
  }

  /** The versions of `model` with any outcome kept. */
  versions(model: string): number[] {
    return [...(this.#records.get(model)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Models with at least one outcome in the recent window at `at`. */
  models(at: number): string[] {
    return [...this.#records.entries()]
      .filter(([, versions]) =>
        [...versions.values()].some((buckets) => this.#sum(buckets, at - this.windowMs, at).requests > 0),
      )
      .map(([model]) => model);
  }

  /**
   * Requests per version of `model` that the alias routed (unversioned routes) in the recent window at `at`: the
   * observed traffic split, exact. Requests naming a version (golden checks among them) are not counted here.
   */
  requests(model: string, at: number): Record<string, number> {
    const split: Record<string, number> = {};
    for (const [version, buckets] of this.#records.get(model) ?? []) {
      const { requests } = this.#sum(buckets, at - this.windowMs, at);
      if (requests > 0) split[String(version)] = requests;
    }
    return split;
  }

  /** Figures of one version over `(from, to]` (epoch ms; the edges are whole seconds). */
  figures(model: string, version: number, from: number, to: number): VersionFigures {
    const { latencies, ...counts } = this.#sum(this.#records.get(model)?.get(version) ?? [], from, to);
    return {
      ...counts,
      differences: this.#differenceFigures(model, version, from, to),
      p99Ms: latencies.count === 0 ? 0 : latencies.getValueAtQuantile(HEALTH_LATENCY_PERCENTILE),
    };
  }

  /**
   * One version's figures over `[from, to)` in consecutive periods of `periodMs` (whole seconds), oldest first: the
   * console's charts. Each second counts in one period only; a period with no outcome has zero requests.
   */
  series(model: string, version: number, from: number, to: number, periodMs: number): SeriesPoint[] {
    const periodSeconds = Math.max(1, Math.round(periodMs / BUCKET_MS));
    const firstSecond = Math.floor(from / BUCKET_MS);
    const count = Math.max(0, Math.ceil((Math.floor(to / BUCKET_MS) - firstSecond) / periodSeconds));
    const points = Array.from({ length: count }, (_, index) => ({
      at: (firstSecond + index * periodSeconds) * BUCKET_MS,
      ...emptyCounts(),
    }));
    for (const bucket of this.#records.get(model)?.get(version) ?? []) {
      const point = points[Math.floor((bucket.second - firstSecond) / periodSeconds)];
      if (bucket.second < firstSecond || !point) continue;
      addCounts(point, bucket);
    }
    return points.map(({ latencies, ...counts }) => ({
      ...counts,
      p50Ms: latencies.count === 0 ? null : latencies.getValueAtQuantile(0.5),
      p99Ms: latencies.count === 0 ? null : latencies.getValueAtQuantile(HEALTH_LATENCY_PERCENTILE),
    }));
  }

  /**
   * Judges one version by the gates ({@link breachedGates}: 5xx share, p99 latency, NaN outputs, refused inputs
   * against the stable version's in the same period), on the recent window and on the current step (`sinceMs`):
   * - `unhealthy` when either has at least `minSamples` requests and breaches a gate;
   * - `healthy` when the step (or, without one, the window) has at least `minSamples` requests and breaches none;
   * - `unknown` otherwise.
   * The report carries the observed split and, as evidence, the requests the alias routed to the version in the
   * step.
   */
  judge(
    model: string,
    version: number,
    thresholds: GateThresholds,
    at: number,
    options: JudgeOptions = {},
  ): HealthReport {
    const requests = this.requests(model, at);
    const seconds = Math.round(this.windowMs / 1000);
    const recentLabel = `in the last ${seconds} s`;
    const sinceMs = options.sinceMs ?? at - this.windowMs;
    const step = this.figures(model, version, sinceMs, at);
    const stableStep =
      options.stable === undefined || options.stable === version
        ? undefined
        : this.figures(model, options.stable, sinceMs, at);
    const evidence = {
      requests,
      candidateRequests: step.requests,
      settledUntilMs: at,
      agreement: {
        compared: step.compared,
        disagreed: step.disagreed,
        byOutput: step.disagreedOutputs,
        differences: step.differences,
      },
      ...(stableStep ? { classShares: { stable: stableStep.classes, candidate: step.classes } } : {}),
    };
    const stepLabel = options.sinceMs === undefined ? recentLabel : 'since the step began';
    const baseline = (from: number): VersionFigures | undefined =>
      options.stable === undefined || options.stable === version
        ? undefined
        : this.figures(model, options.stable, from, at);

    // The rates are judged on `needed` routed requests or more: the window's own minimum, or fewer when the plan's
    // step needs fewer (a plan of 0 is judged on whatever came, and healthy with none).
    const needed =
      options.minRequests === undefined
        ? this.minSamples
        : Math.max(0, Math.min(this.minSamples, options.minRequests));
    const judgedAt = Math.max(1, needed);
    const breaches: string[] = [];
    const recent = this.figures(model, version, at - this.windowMs, at);
    const add = (found: readonly { reason: string }[]) => {
      for (const breach of found) if (!breaches.includes(breach.reason)) breaches.push(breach.reason);
    };
    // NaN or infinite outputs need no sample: one is one too many, as the AWS alarm counts them per minute.
    const invalidOnly = (figures: VersionFigures, label: string, from: number) =>
      breachedGates(figures, thresholds, label, baseline(from)).filter(
        (breach) => breach.gate === VersionAlarmKind.INVALID_OUTPUTS,
      );
    if (recent.requests >= judgedAt)
      add(breachedGates(recent, thresholds, recentLabel, baseline(at - this.windowMs)));
    else add(invalidOnly(recent, recentLabel, at - this.windowMs));
    if (options.sinceMs !== undefined) {
      if (step.requests >= judgedAt) add(breachedGates(step, thresholds, stepLabel, baseline(sinceMs)));
      else add(invalidOnly(step, stepLabel, sinceMs));
    }
    if (breaches.length > 0) return { verdict: 'unhealthy', reasons: breaches, ...evidence };

    const shadowed =
      step.compared > 0
        ? [
            `shadow: ${describeCount(step.disagreed)} of ${step.compared} compared requests disagreed with the stable version's`,
          ]
        : [];
    const direct =
      step.direct > 0
        ? [
            `${step.direct} ${step.direct === 1 ? 'request' : 'requests'} named v${version} directly (not judged)`,
          ]
        : [];
    if (step.requests < needed) {
      return {
        verdict: 'unknown',
        reasons: [
          ...shadowed,
          `${step.requests} ${step.requests === 1 ? 'answer' : 'answers'} of version ${version} ${stepLabel} routed by the alias; ` +
            `at least ${needed} are needed to judge`,
          ...direct,
        ],
        ...evidence,
      };
    }
    const reasons = [
      `error rate ${percent(step.errors, step.requests)} (${step.errors} of ${step.requests} requests ${stepLabel}) is below the limit of ${thresholds.errorRatePercent.toFixed(1)}%`,
      `p99 latency ${Math.round(step.p99Ms)} ms is below the limit of ${thresholds.p99LatencyMs} ms`,
      `${step.invalidOutputs} NaN or infinite output values`,
    ];
    if (options.stable !== undefined && options.stable !== version) {
      reasons.push(
        `refused inputs ${percent(step.rejected, step.requests)} (${step.rejected} of ${step.requests})`,
      );
    }
    return { verdict: 'healthy', reasons: [...shadowed, ...reasons, ...direct], ...evidence };
  }

  /** The counts and the merged latency sketch of `buckets` over `(from, to]`, by whole seconds. */
  #sum(
    buckets: readonly Bucket[],
    from: number,
    to: number,
  ): Omit<VersionFigures, 'p99Ms' | 'differences'> & { latencies: DDSketch } {
    const sum = emptyCounts();
    const disagreedOutputs: Record<string, number> = {};
    const classes: Record<string, number> = {};
    const fromSecond = Math.floor(from / BUCKET_MS);
    const toSecond = Math.floor(to / BUCKET_MS);
    for (const bucket of buckets) {
      if (bucket.second < fromSecond || bucket.second > toSecond) continue;
      addCounts(sum, bucket);
      for (const [name, count] of bucket.disagreedOutputs) {
        disagreedOutputs[name] = (disagreedOutputs[name] ?? 0) + count;
      }
      for (const [name, count] of bucket.classes) classes[name] = (classes[name] ?? 0) + count;
    }
    return { ...sum, disagreedOutputs, classes };
  }

  /** Drops buckets older than the retention. */
  #prune(buckets: Bucket[], at: number): void {
    const oldestSecond = Math.floor((at - this.retentionMs) / BUCKET_MS);
    let stale = 0;
    while (stale < buckets.length && (buckets[stale] as Bucket).second < oldestSecond) stale++;
    if (stale > 0) buckets.splice(0, stale);
  }
}

/** The counts of a period, summed over its seconds by {@link addCounts}. */
type Counts = Pick<
  Bucket,
  'requests' | 'direct' | 'errors' | 'rejected' | 'invalidOutputs' | 'compared' | 'disagreed' | 'latencies'
>;

function emptyCounts(): Counts {
  return {
    requests: 0,
    direct: 0,
    errors: 0,
    rejected: 0,
    invalidOutputs: 0,
    compared: 0,
    disagreed: 0,
    latencies: new DDSketch({ relativeAccuracy: HEALTH_LATENCY_ACCURACY }),
  };
}

/** Adds one second's counts and latencies to a period's. */
function addCounts(into: Counts, bucket: Bucket): void {
  into.requests += bucket.requests;
  into.direct += bucket.direct;
  into.errors += bucket.errors;
  into.rejected += bucket.rejected;
  into.invalidOutputs += bucket.invalidOutputs;
  into.compared += bucket.compared;
  into.disagreed += bucket.disagreed;
  // A second with only shadow comparisons has no latencies of its own.
  if (bucket.latencies.count > 0) into.latencies.merge(bucket.latencies);
}

/** A count that may be fractional (shares of batch requests), to two decimals. */
function describeCount(count: number): string {
  return String(Math.round(count * 100) / 100);
}

function percent(count: number, total: number): string {
  return `${(total === 0 ? 0 : (100 * count) / total).toFixed(1)}%`;
}

/** The buckets of one version of a model, made empty when it has none yet. */
function versionBuckets<T>(records: Map<string, Map<number, T[]>>, model: string, version: number): T[] {
  let versions = records.get(model);
  if (!versions) {
    versions = new Map();
    records.set(model, versions);
  }
  let buckets = versions.get(version);
  if (!buckets) {
    buckets = [];
    versions.set(version, buckets);
  }
  return buckets;
}
