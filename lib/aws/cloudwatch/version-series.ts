import {
  type CloudWatchClient,
  type MetricDataQuery,
  paginateGetMetricData,
} from '@aws-sdk/client-cloudwatch';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricDimension,
  MetricName,
} from '../../core/metrics/metric-names.js';
import type { SeriesPoint } from '../../core/metrics/series-point.js';
import type { RolloutState } from '../../core/rollout/RolloutState.js';

/**
 * Shortest period of sluice's metrics, in milliseconds: EMF sends standard-resolution metrics, which CloudWatch
 * keeps per minute, and a GetMetricData period over them is a multiple of 60 seconds
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricStat.html).
 */
export const METRIC_PERIOD_STEP_MS = 60_000;

/** The statistics of one version's periods, by the field of {@link SeriesPoint} each fills. */
const SERIES_QUERIES = [
  { field: 'requests', metric: MetricName.REQUESTS, stat: 'Sum' },
  { field: 'errors', metric: MetricName.ERRORS, stat: 'Sum' },
  { field: 'rejected', metric: MetricName.REJECTED_INPUTS, stat: 'Sum' },
  { field: 'invalidOutputs', metric: MetricName.INVALID_OUTPUTS, stat: 'Sum' },
  { field: 'compared', metric: MetricName.SHADOW_COMPARED, stat: 'Sum' },
  { field: 'disagreed', metric: MetricName.SHADOW_DISAGREED, stat: 'Sum' },
  { field: 'p50Ms', metric: MetricName.LATENCY, stat: 'p50' },
  { field: 'p99Ms', metric: MetricName.LATENCY, stat: 'p99' },
] as const;

/** A field of {@link SeriesPoint} a query fills. */
type SeriesField = (typeof SERIES_QUERIES)[number]['field'];

/** Most queries one GetMetricData call takes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html). */
const MAX_QUERIES_PER_CALL = 500;

/** A version to chart, and the Lambda versions (builds) that have served it through the alias. */
export interface ChartedVersion {
  readonly version: number;
  readonly builds: readonly string[];
}

/**
 * The builds each version of a model has had, from its rollout state: the stable and candidate builds now and in
 * every recorded event (a version can have several: a code-only rollout serves it from a new build).
 *
 * @example
 * const charted = chartedVersions([1, 2], await store.current('iris'));
 */
export function chartedVersions(
  versions: readonly number[],
  state: RolloutState | undefined,
): ChartedVersion[] {
  const builds = new Map<number, Set<string>>();
  const add = (version: number | undefined, build: string | undefined) => {
    if (version === undefined || build === undefined) return;
    const known = builds.get(version) ?? new Set<string>();
    known.add(build);
    builds.set(version, known);
  };
  if (state) {
    add(state.stable, state.stableBuild);
    add(state.candidate, state.candidateBuild);
    for (const event of state.history) {
      add(event.stable, event.stableBuild);
      add(event.candidate, event.candidateBuild);
    }
  }
  return versions.map((version) => ({ version, builds: [...(builds.get(version) ?? [])].sort() }));
}

/**
 * Each version's figures over `[from, to)` in periods of `periodMs` (a multiple of {@link METRIC_PERIOD_STEP_MS}),
 * oldest first, from the EMF metrics the predict functions send: a document carries one dimension set, so a
 * version's traffic is the sum of the set without FunctionVersion (requests that named the version) and the set of
 * each build that served it through the alias (`service, Model, Version, FunctionVersion`). Counts are summed;
 * p50 and p99 are those of the set with the most requests in the period (percentiles do not add). Eight queries per
 * set, in GetMetricData calls of at most 500, their pages followed; a period with no datapoint counts 0 requests.
 * `direct` is 0: the routed and named requests are not told apart here.
 *
 * @example
 * const series = await versionSeries(cloudwatch, 'iris', [{ version: 2, builds: ['7'] }], { from, to, periodMs: 60_000 });
 */
export async function versionSeries(
  cloudwatch: CloudWatchClient,
  model: string,
  versions: readonly ChartedVersion[],
  window: { readonly from: number; readonly to: number; readonly periodMs: number },
): Promise<Record<string, SeriesPoint[]>> {
  const periodSeconds = Math.max(60, Math.round(window.periodMs / METRIC_PERIOD_STEP_MS) * 60);
  const period = periodSeconds * 1000;
  const from = Math.floor(window.from / period) * period;
  const count = Math.max(0, Math.ceil((window.to - from) / period));
  if (versions.length === 0 || count === 0) return {};
  // Each set of each version, with an id naming both (ids are letters, digits and underscores).
  const sets = versions.flatMap(({ version, builds }) => [
    { version, build: undefined as string | undefined, key: `v${version}_direct` },
    ...builds.map((build) => ({ version, build, key: `v${version}_b${build.replace(/\W/g, '_')}` })),
  ]);
  const idOf = (key: string, field: SeriesField) => `${key}_${field}`;
  const queries: MetricDataQuery[] = sets.flatMap(({ version, build, key }) =>
    SERIES_QUERIES.map((query) => ({
      Id: idOf(key, query.field),
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: METRICS_NAMESPACE,
          MetricName: query.metric,
          Dimensions: [
            { Name: 'service', Value: METRICS_SERVICE },
            { Name: MetricDimension.MODEL, Value: model },
            { Name: MetricDimension.VERSION, Value: String(version) },
            ...(build === undefined ? [] : [{ Name: MetricDimension.FUNCTION_VERSION, Value: build }]),
          ],
        },
        Period: periodSeconds,
        Stat: query.stat,
      },
    })),
  );
  const values = new Map<string, Map<number, number>>();
  for (let start = 0; start < queries.length; start += MAX_QUERIES_PER_CALL) {
    const pages = paginateGetMetricData(
      { client: cloudwatch },
      {
        StartTime: new Date(from),
        EndTime: new Date(from + count * period),
        MetricDataQueries: queries.slice(start, start + MAX_QUERIES_PER_CALL),
        ScanBy: 'TimestampAscending',
      },
    );
    for await (const page of pages) {
      for (const result of page.MetricDataResults ?? []) {
        const byTime = values.get(result.Id ?? '') ?? new Map<number, number>();
        (result.Timestamps ?? []).forEach((timestamp, index) => {
          const value = result.Values?.[index];
          if (value !== undefined) byTime.set(timestamp.getTime(), value);
        });
        values.set(result.Id ?? '', byTime);
      }
    }
  }
  const series: Record<string, SeriesPoint[]> = {};
  for (const { version } of versions) {
    const own = sets.filter((set) => set.version === version);
    series[String(version)] = Array.from({ length: count }, (_, slot) => {
      const at = from + slot * period;
      const read = (key: string, field: SeriesField) => values.get(idOf(key, field))?.get(at);
      const sum = (field: SeriesField) => own.reduce((total, set) => total + (read(set.key, field) ?? 0), 0);
      // The percentiles of the busiest set of the period.
      const busiest = own.reduce<(typeof own)[number] | undefined>(
        (best, set) =>
          (read(set.key, 'requests') ?? 0) > (best ? (read(best.key, 'requests') ?? 0) : 0) ? set : best,
        undefined,
      );
      return {
        at,
        requests: Math.round(sum('requests')),
        direct: 0,
        errors: Math.round(sum('errors')),
        rejected: Math.round(sum('rejected')),
        invalidOutputs: Math.round(sum('invalidOutputs')),
        compared: Math.round(sum('compared')),
        disagreed: sum('disagreed'),
        p50Ms: busiest ? (read(busiest.key, 'p50Ms') ?? null) : null,
        p99Ms: busiest ? (read(busiest.key, 'p99Ms') ?? null) : null,
      };
    });
  }
  return series;
}
