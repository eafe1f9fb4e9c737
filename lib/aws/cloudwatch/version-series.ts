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

/**
 * Each version's figures over `[from, to)` in periods of `periodMs` (a multiple of {@link METRIC_PERIOD_STEP_MS}),
 * oldest first, from the EMF metrics the predict functions send, which carry one dimension set a document: the
 * requests the alias routed are under `service, Model, Version, FunctionVersion`, one series per build (Lambda
 * version) that served the version, shadow builds included, found with a search and combined by metric math (SUM
 * of the counts, MAX of the percentiles: the slowest build shows) without knowing the builds
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html); the requests that
 * named the version are under `service, Model, Version` (`direct`). Errors, rejections, invalid outputs and shadow
 * comparisons count both; p50 and p99 are the highest of either. Sixteen queries per version, in GetMetricData
 * calls of at most 500, their pages followed; a period with no datapoint counts 0 requests.
 *
 * @example
 * const series = await versionSeries(cloudwatch, 'iris', [1, 2], { from, to, periodMs: 60_000 });
 */
export async function versionSeries(
  cloudwatch: CloudWatchClient,
  model: string,
  versions: readonly number[],
  window: { readonly from: number; readonly to: number; readonly periodMs: number },
): Promise<Record<string, SeriesPoint[]>> {
  const periodSeconds = Math.max(60, Math.round(window.periodMs / METRIC_PERIOD_STEP_MS) * 60);
  const period = periodSeconds * 1000;
  const from = Math.floor(window.from / period) * period;
  const count = Math.max(0, Math.ceil((window.to - from) / period));
  if (versions.length === 0 || count === 0) return {};
  // A query's id names its version, its set (r: routed, n: named) and the field it fills.
  const idOf = (version: number, set: 'r' | 'n', field: SeriesField) => `v${version}_${set}_${field}`;
  const queries: MetricDataQuery[] = versions.flatMap((version) =>
    SERIES_QUERIES.flatMap((query) => [
      {
        Id: idOf(version, 'r', query.field),
        ReturnData: true,
        Expression: `${query.stat.startsWith('p') ? 'MAX' : 'SUM'}(SEARCH('{${METRICS_NAMESPACE},${MetricDimension.FUNCTION_VERSION},${MetricDimension.MODEL},${MetricDimension.VERSION},service} MetricName="${query.metric}" ${MetricDimension.MODEL}="${model}" ${MetricDimension.VERSION}="${version}"', '${query.stat}', ${periodSeconds}))`,
      },
      {
        Id: idOf(version, 'n', query.field),
        ReturnData: true,
        MetricStat: {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: query.metric,
            Dimensions: [
              { Name: 'service', Value: METRICS_SERVICE },
              { Name: MetricDimension.MODEL, Value: model },
              { Name: MetricDimension.VERSION, Value: String(version) },
            ],
          },
          Period: periodSeconds,
          Stat: query.stat,
        },
      },
    ]),
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
  for (const version of versions) {
    series[String(version)] = Array.from({ length: count }, (_, slot) => {
      const at = from + slot * period;
      const read = (set: 'r' | 'n', field: SeriesField) => values.get(idOf(version, set, field))?.get(at);
      const both = (field: SeriesField) => (read('r', field) ?? 0) + (read('n', field) ?? 0);
      const highest = (field: SeriesField) => {
        const found = [read('r', field), read('n', field)].filter((value) => value !== undefined);
        return found.length === 0 ? null : Math.max(...found);
      };
      return {
        at,
        requests: Math.round(read('r', 'requests') ?? 0),
        direct: Math.round(read('n', 'requests') ?? 0),
        errors: Math.round(both('errors')),
        rejected: Math.round(both('rejected')),
        invalidOutputs: Math.round(both('invalidOutputs')),
        compared: Math.round(both('compared')),
        disagreed: both('disagreed'),
        p50Ms: highest('p50Ms'),
        p99Ms: highest('p99Ms'),
      };
    });
  }
  return series;
}
