import type { HealthReport } from '../core/rollout/RolloutTarget.js';
import type { ServedOutcome } from '../serving/ModelResolver.js';
import type { HealthThresholds } from './local-config.js';

/** How far back the recent health window looks, in milliseconds: long enough for a few dozen requests, short enough to react. */
export const HEALTH_WINDOW_MS = 30_000;

/** Fewest requests of a version before a period is judged; below this the verdict is `unknown`. */
export const HEALTH_MIN_SAMPLES = 20;

/**
 * Most latencies kept per version for the p99; the oldest are dropped first, so a flood of requests cannot
 * exhaust memory. Counts are never capped: they live in per-second buckets.
 */
export const HEALTH_MAX_SAMPLES = 10_000;

/**
 * How long per-second counts are kept, in milliseconds: the longest step whose evidence the local stack can count
 * (6 hours, far beyond any local bake). Older buckets are dropped.
 */
export const HEALTH_RETENTION_MS = 6 * 3_600_000;

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
  /** @default HEALTH_MAX_SAMPLES */
  readonly maxSamples?: number;
  /** @default HEALTH_RETENTION_MS */
  readonly retentionMs?: number;
}

/** Error rate, refusals and latency of one version over a period. */
export interface VersionFigures {
  /** Requests in the period (all of them: routed, golden checks, explicit versions). */
  readonly requests: number;
  /** Of which the alias routed (unversioned routes): the traffic it was given. */
  readonly routed: number;
  /** Of which answered 5xx (a version that cannot load answers 503: it counts). */
  readonly errors: number;
  /** Of which answered 4xx: input the version refused. */
  readonly rejected: number;
  /** errors / requests (0 with no requests). */
  readonly errorRate: number;
  /** rejected / requests (0 with no requests). */
  readonly rejectedRate: number;
  /** p99 latency in milliseconds of the latencies kept in the period (0 with none). */
  readonly p99Ms: number;
}

/** What {@link HealthWindow.judge} judges besides the recent window. */
export interface JudgeOptions {
  /** The current step's start (epoch ms): evidence and the step's own figures count from here. */
  readonly sinceMs?: number;
  /** The stable version, whose share of refused inputs the candidate's is compared with. */
  readonly stable?: number;
}

/** Counts of one second. */
interface Bucket {
  readonly second: number;
  requests: number;
  routed: number;
  errors: number;
  rejected: number;
}

/** Everything kept of one version. */
interface VersionRecord {
  /** Per-second counts, oldest first. */
  readonly buckets: Bucket[];
  /** Latencies with their time, oldest first, at most `maxSamples` (trimmed in batches). */
  readonly latencies: { at: number; ms: number }[];
}

/**
 * Inference outcomes per model and version: the local stack's health signal, what CloudWatch metrics and alarms
 * are on AWS. Counts are exact (per-second buckets, kept for `retentionMs`); latencies are a bounded sample.
 *
 * Pure data: fed by the resolver's `served()` hook, judged by the local rollout driver and the `/_sluice/health`
 * route; the caller passes the clock reading, so it is tested without timers.
 *
 * @example
 * const window = new HealthWindow();
 * window.record('iris', 2, { status: 500, latencyMs: 3 }, Date.now());
 * window.judge('iris', 2, { maxErrorRate: 0.05, maxP99Ms: 1000 }, Date.now()).verdict; // 'unknown' (too few)
 */
export class HealthWindow {
  readonly windowMs: number;
  readonly minSamples: number;
  readonly maxSamples: number;
  readonly retentionMs: number;
  /** Records by model, then by version. */
  readonly #records = new Map<string, Map<number, VersionRecord>>();

  constructor(options: HealthWindowOptions = {}) {
    this.windowMs = options.windowMs ?? HEALTH_WINDOW_MS;
    this.minSamples = options.minSamples ?? HEALTH_MIN_SAMPLES;
    this.maxSamples = options.maxSamples ?? HEALTH_MAX_SAMPLES;
    this.retentionMs = options.retentionMs ?? HEALTH_RETENTION_MS;
  }

  /** Records one inference answered by `version` of `model` at `at` (ms since the epoch). */
  record(model: string, version: number, outcome: ServedOutcome, at: number): void {
    let versions = this.#records.get(model);
    if (!versions) {
      versions = new Map();
      this.#records.set(model, versions);
    }
    let record = versions.get(version);
    if (!record) {
      record = { buckets: [], latencies: [] };
      versions.set(version, record);
    }
    const second = Math.floor(at / BUCKET_MS);
    let bucket = record.buckets.at(-1);
    if (!bucket || bucket.second !== second) {
      bucket = { second, requests: 0, routed: 0, errors: 0, rejected: 0 };
      record.buckets.push(bucket);
      this.#prune(record, at);
    }
    bucket.requests++;
    if (outcome.routed ?? true) bucket.routed++;
    if (outcome.status >= 500) bucket.errors++;
    else if (outcome.status >= 400) bucket.rejected++;
    record.latencies.push({ at, ms: outcome.latencyMs });
    // Trimmed in batches: a splice of thousands of samples on every request would cost more than the request.
    if (record.latencies.length >= 2 * this.maxSamples) {
      record.latencies.splice(0, record.latencies.length - this.maxSamples);
    }
  }

  /** Models with at least one outcome in the recent window at `at`. */
  models(at: number): string[] {
    return [...this.#records.entries()]
      .filter(([, versions]) =>
        [...versions.values()].some((record) => countsOf(record, at - this.windowMs, at).requests > 0),
      )
      .map(([model]) => model);
  }

  /**
   * Requests per version of `model` that the alias routed (unversioned routes) in the recent window at `at`: the
   * observed traffic split, exact. Requests naming a version (golden checks among them) are judged but not
   * counted here.
   */
  requests(model: string, at: number): Record<string, number> {
    const split: Record<string, number> = {};
    for (const [version, record] of this.#records.get(model) ?? []) {
      const { routed } = countsOf(record, at - this.windowMs, at);
      if (routed > 0) split[String(version)] = routed;
    }
    return split;
  }

  /** Figures of one version over `(from, to]` (epoch ms); by default the recent window ending at `to`. */
  figures(model: string, version: number, from: number, to: number): VersionFigures {
    const record = this.#records.get(model)?.get(version);
    const { requests, routed, errors, rejected } = countsOf(record, from, to);
    const latencies = (record?.latencies ?? [])
      .filter((sample) => sample.at >= from && sample.at <= to)
      .map((sample) => sample.ms);
    return {
      requests,
      routed,
      errors,
      rejected,
      errorRate: requests === 0 ? 0 : errors / requests,
      rejectedRate: requests === 0 ? 0 : rejected / requests,
      p99Ms: percentile(latencies, HEALTH_LATENCY_PERCENTILE),
    };
  }

  /**
   * Judges one version against the thresholds, on the recent window and on the current step (`sinceMs`):
   * - `unhealthy` when either has at least `minSamples` requests and its error rate or p99 latency is above its
   *   limit, or when the version refuses a larger share of its inputs in the step than the stable version did in
   *   the same period, by more than `maxRejectedIncrease` (a new version that renamed an input refuses existing
   *   clients: that is the candidate's failure, not theirs);
   * - `healthy` when the step (or, without one, the window) has at least `minSamples` requests and is within;
   * - `unknown` otherwise.
   * The report carries the observed split and, as evidence, the requests the alias routed to the version in the
   * step.
   */
  judge(
    model: string,
    version: number,
    thresholds: HealthThresholds,
    at: number,
    options: JudgeOptions = {},
  ): HealthReport {
    const requests = this.requests(model, at);
    const seconds = Math.round(this.windowMs / 1000);
    const recent = this.figures(model, version, at - this.windowMs, at);
    const sinceMs = options.sinceMs ?? at - this.windowMs;
    const step = this.figures(model, version, sinceMs, at);
    const evidence = { requests, candidateRequests: step.routed, settledUntilMs: at };
    const stepLabel = options.sinceMs === undefined ? `in the last ${seconds} s` : 'since the step began';

    const breaches: string[] = [];
    if (recent.requests >= this.minSamples)
      breaches.push(...this.#breaches(recent, thresholds, `in the last ${seconds} s`));
    if (options.sinceMs !== undefined && step.requests >= this.minSamples) {
      breaches.push(...this.#breaches(step, thresholds, stepLabel));
    }
    const rejection = this.#rejectionJump(model, version, step, sinceMs, at, thresholds, options.stable);
    if (rejection) breaches.push(rejection);
    if (breaches.length > 0) return { verdict: 'unhealthy', reasons: breaches, ...evidence };

    if (step.requests < this.minSamples) {
      return {
        verdict: 'unknown',
        reasons: [
          `${step.requests} ${step.requests === 1 ? 'answer' : 'answers'} of version ${version} ${stepLabel} (golden checks included); ` +
            `at least ${this.minSamples} are needed to judge`,
        ],
        ...evidence,
      };
    }
    const reasons = [
      `error rate ${percent(step.errorRate)} (${step.errors} of ${step.requests} requests ${stepLabel}) is within the limit of ${percent(thresholds.maxErrorRate)}`,
      `p99 latency ${Math.round(step.p99Ms)} ms is within the limit of ${thresholds.maxP99Ms} ms`,
    ];
    if (options.stable !== undefined && options.stable !== version) {
      reasons.push(`refused inputs ${percent(step.rejectedRate)} (${step.rejected} of ${step.requests})`);
    }
    return { verdict: 'healthy', reasons, ...evidence };
  }

  #breaches(figures: VersionFigures, thresholds: HealthThresholds, label: string): string[] {
    const found: string[] = [];
    if (figures.errorRate > thresholds.maxErrorRate) {
      found.push(
        `error rate ${percent(figures.errorRate)} (${figures.errors} of ${figures.requests} requests ${label}) is above the limit of ${percent(thresholds.maxErrorRate)}`,
      );
    }
    if (figures.p99Ms > thresholds.maxP99Ms) {
      found.push(
        `p99 latency ${Math.round(figures.p99Ms)} ms ${label} is above the limit of ${thresholds.maxP99Ms} ms`,
      );
    }
    return found;
  }

  /** A reason when the candidate refuses clearly more of its inputs than the stable version; undefined otherwise. */
  #rejectionJump(
    model: string,
    version: number,
    step: VersionFigures,
    sinceMs: number,
    at: number,
    thresholds: HealthThresholds,
    stable: number | undefined,
  ): string | undefined {
    if (stable === undefined || stable === version || step.requests < this.minSamples) return undefined;
    const baseline = this.figures(model, stable, sinceMs, at);
    // Without the stable version's traffic to compare with, any refusal share counts against the limit alone.
    const increase = step.rejectedRate - baseline.rejectedRate;
    if (increase <= thresholds.maxRejectedIncrease) return undefined;
    return (
      `refused inputs ${percent(step.rejectedRate)} (${step.rejected} of ${step.requests}) against ` +
      `${percent(baseline.rejectedRate)} for stable v${stable} (${baseline.rejected} of ${baseline.requests}) in the same period: ` +
      `more than ${percent(thresholds.maxRejectedIncrease)} above it; clients' inputs that the stable version accepts are refused`
    );
  }

  /** Drops buckets older than the retention and latencies older than the window's longest useful period. */
  #prune(record: VersionRecord, at: number): void {
    const oldestSecond = Math.floor((at - this.retentionMs) / BUCKET_MS);
    let stale = 0;
    while (stale < record.buckets.length && (record.buckets[stale] as Bucket).second < oldestSecond) stale++;
    if (stale > 0) record.buckets.splice(0, stale);
  }
}

/** The counts of one version over a period, summed from its per-second buckets (the edges are whole seconds). */
function countsOf(
  record: VersionRecord | undefined,
  from: number,
  to: number,
): Pick<VersionFigures, 'requests' | 'routed' | 'errors' | 'rejected'> {
  let requests = 0;
  let routed = 0;
  let errors = 0;
  let rejected = 0;
  const fromSecond = Math.floor(from / BUCKET_MS);
  const toSecond = Math.floor(to / BUCKET_MS);
  for (const bucket of record?.buckets ?? []) {
    if (bucket.second < fromSecond || bucket.second > toSecond) continue;
    requests += bucket.requests;
    routed += bucket.routed;
    errors += bucket.errors;
    rejected += bucket.rejected;
  }
  return { requests, routed, errors, rejected };
}

/** The nearest-rank percentile of the values (0 for none). */
function percentile(values: number[], share: number): number {
  if (values.length === 0) return 0;
  const sorted = values.sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(share * sorted.length));
  return sorted[rank - 1] as number;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
