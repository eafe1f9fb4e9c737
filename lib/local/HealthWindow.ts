import type { ServedOutcome } from '../http/ModelResolver.js';
import type { HealthReport } from '../rollout/RolloutTarget.js';
import type { HealthThresholds } from './local-config.js';

/** How far back the health window looks, in milliseconds: long enough for a few dozen requests, short enough to react. */
export const HEALTH_WINDOW_MS = 30_000;

/** Fewest requests of a version in the window before it is judged; below this the verdict is `unknown`. */
export const HEALTH_MIN_SAMPLES = 20;

/** Most outcomes kept per version; the oldest are dropped first, so a flood of requests cannot exhaust memory. */
export const HEALTH_MAX_SAMPLES = 10_000;

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
}

/** Error rate and latency of one version over the window. */
export interface VersionFigures {
  /** Requests in the window. */
  readonly requests: number;
  /** Of which answered 5xx. */
  readonly errors: number;
  /** errors / requests (0 with no requests). */
  readonly errorRate: number;
  /** p99 latency in milliseconds (0 with no requests). */
  readonly p99Ms: number;
}

/** One outcome: when it happened (ms since the epoch), whether it was a 5xx, how long it took. */
interface Sample {
  readonly at: number;
  readonly failed: boolean;
  readonly latencyMs: number;
  /** Routed by the alias (not a `/versions/{v}` request). */
  readonly routed: boolean;
}

/**
 * A sliding, time-based window of inference outcomes per model and version: the local stack's health signal,
 * what CloudWatch metrics and alarms are on AWS.
 *
 * Pure data: fed by the resolver's `served()` hook, judged by the watchdog and the `/_sluice/health` route; the
 * caller passes the clock reading, so it is tested without timers.
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
  /** Samples by model, then by version, oldest first. */
  readonly #samples = new Map<string, Map<number, Sample[]>>();

  constructor(options: HealthWindowOptions = {}) {
    this.windowMs = options.windowMs ?? HEALTH_WINDOW_MS;
    this.minSamples = options.minSamples ?? HEALTH_MIN_SAMPLES;
    this.maxSamples = options.maxSamples ?? HEALTH_MAX_SAMPLES;
  }

  /** Records one inference answered by `version` of `model` at `at` (ms since the epoch). */
  record(model: string, version: number, outcome: ServedOutcome, at: number): void {
    let versions = this.#samples.get(model);
    if (!versions) {
      versions = new Map();
      this.#samples.set(model, versions);
    }
    let samples = versions.get(version);
    if (!samples) {
      samples = [];
      versions.set(version, samples);
    }
    samples.push({
      at,
      failed: outcome.status >= 500,
      latencyMs: outcome.latencyMs,
      routed: outcome.routed ?? true,
    });
    // Trimmed in batches: a splice of thousands of samples on every request would cost more than the request.
    if (samples.length >= 2 * this.maxSamples) samples.splice(0, samples.length - this.maxSamples);
  }

  /** Models with at least one outcome in the window at `at`. */
  models(at: number): string[] {
    return [...this.#samples.keys()].filter((model) =>
      [...(this.#samples.get(model)?.values() ?? [])].some((samples) => this.#prune(samples, at).length > 0),
    );
  }

  /**
   * Requests per version of `model` that the alias routed (unversioned routes) in the window at `at`: the
   * observed traffic split. Requests naming a version (golden checks among them) are judged but not counted here.
   */
  requests(model: string, at: number): Record<string, number> {
    const split: Record<string, number> = {};
    for (const [version, samples] of this.#samples.get(model) ?? []) {
      const count = this.#prune(samples, at).filter((sample) => sample.routed).length;
      if (count > 0) split[String(version)] = count;
    }
    return split;
  }

  /** Error rate and p99 latency of one version in the window at `at`, over all its requests. */
  figures(model: string, version: number, at: number): VersionFigures {
    const samples = this.#prune(this.#samples.get(model)?.get(version) ?? [], at);
    const requests = samples.length;
    const errors = samples.filter((sample) => sample.failed).length;
    return {
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      p99Ms: percentile(
        samples.map((sample) => sample.latencyMs),
        HEALTH_LATENCY_PERCENTILE,
      ),
    };
  }

  /**
   * Judges one version against the thresholds: `unknown` below the minimum sample count, `unhealthy` when the
   * error rate or the p99 latency is above its limit, otherwise `healthy`. The report carries the observed
   * requests per version of the model.
   */
  judge(model: string, version: number, thresholds: HealthThresholds, at: number): HealthReport {
    const figures = this.figures(model, version, at);
    const requests = this.requests(model, at);
    const seconds = Math.round(this.windowMs / 1000);
    if (figures.requests < this.minSamples) {
      return {
        verdict: 'unknown',
        reasons: [
          `${figures.requests} ${figures.requests === 1 ? 'request' : 'requests'} to version ${version} in the last ${seconds} s; ` +
            `at least ${this.minSamples} are needed to judge`,
        ],
        requests,
      };
    }
    const errorBreached = figures.errorRate > thresholds.maxErrorRate;
    const latencyBreached = figures.p99Ms > thresholds.maxP99Ms;
    const reasons = [
      `error rate ${percent(figures.errorRate)} (${figures.errors} of ${figures.requests} requests in the last ${seconds} s) ${
        errorBreached ? 'is above' : 'is within'
      } the limit of ${percent(thresholds.maxErrorRate)}`,
      `p99 latency ${Math.round(figures.p99Ms)} ms ${latencyBreached ? 'is above' : 'is within'} the limit of ${
        thresholds.maxP99Ms
      } ms`,
    ];
    return { verdict: errorBreached || latencyBreached ? 'unhealthy' : 'healthy', reasons, requests };
  }

  /** Drops the samples older than the window, and all but the newest `maxSamples`, in place; returns what is left. */
  #prune(samples: Sample[], at: number): Sample[] {
    const since = at - this.windowMs;
    let stale = Math.max(0, samples.length - this.maxSamples);
    while (stale < samples.length && (samples[stale] as Sample).at < since) stale++;
    if (stale > 0) samples.splice(0, stale);
    return samples;
  }
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
