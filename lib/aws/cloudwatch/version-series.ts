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

/**
 * Each version's figures over `[from, to)` in periods of `periodMs` (a multiple of {@link METRIC_PERIOD_STEP_MS}),
 * oldest first, from the EMF metrics every predict function sends per model and version (the dimension set
 * service, Model, Version: every request the version answered, routed or named). One GetMetricData call for all
 * versions (eight queries each, within its 500), its pages followed; a period with no datapoint counts 0 requests.
 * `direct` is 0: CloudWatch's Requests count routed and named requests together.
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
  // A query's id names its version and the field it fills (ids are letters, digits and underscores).
  const idOf = (version: number, field: SeriesField) => `v${version}_${field}`;
  const queries: MetricDataQuery[] = versions.flatMap((version) =>
    SERIES_QUERIES.map((query) => ({
      Id: idOf(version, query.field),
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
    })),
  );
  const values = new Map<string, Map<number, number>>();
  const pages = paginateGetMetricData(
    { client: cloudwatch },
    {
      StartTime: new Date(from),
      EndTime: new Date(from + count * period),
      MetricDataQueries: queries,
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
  const series: Record<string, SeriesPoint[]> = {};
  for (const version of versions) {
    series[String(version)] = Array.from({ length: count }, (_, slot) => {
      const at = from + slot * period;
      const read = (field: SeriesField) => values.get(idOf(version, field))?.get(at);
      const whole = (field: SeriesField) => Math.round(read(field) ?? 0);
      return {
        at,
        requests: whole('requests'),
        direct: 0,
        errors: whole('errors'),
        rejected: whole('rejected'),
        invalidOutputs: whole('invalidOutputs'),
        compared: whole('compared'),
        disagreed: read('disagreed') ?? 0,
        p50Ms: read('p50Ms') ?? null,
        p99Ms: read('p99Ms') ?? null,
      };
    });
  }
  return series;
}
