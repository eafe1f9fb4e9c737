import {
  type CloudWatchLogsClient,
  GetQueryResultsCommand,
  type ResultField,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { ANSWERED_CLASS_PROPERTY, MetricDimension } from '../../core/metrics/metric-names.js';

/** Milliseconds between two reads of a running query. */
export const QUERY_POLL_INTERVAL_MS = 1_000;

/**
 * Reads of a running query before giving up: a query over one step of one function's log group takes seconds,
 * and the rollout driver has under a minute per tick.
 */
export const MAX_QUERY_POLLS = 20;

/**
 * Rows a query returns at most: StartQuery's `limit` is at most 10,000
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html); one row per build and
 * class, so two builds of up to 5,000 classes each are counted whole.
 */
const QUERY_ROW_LIMIT = 10_000;

/** What {@link countAnsweredClasses} counts. */
export interface AnsweredClassesQuery {
  /** The predict function's log group (its LoggingConfig.LogGroup, or `/aws/lambda/<name>`). */
  readonly logGroup: string;
  readonly model: string;
  /** The Lambda versions (builds) whose answers are counted. */
  readonly builds: readonly string[];
  /** Epoch milliseconds, inclusive. */
  readonly startMs: number;
  /** Epoch milliseconds, inclusive. */
  readonly endMs: number;
}

/** The answered classes per build, or why they could not be counted. */
export type AnsweredClasses =
  | { readonly ok: true; readonly byBuild: Readonly<Record<string, Readonly<Record<string, number>>>> }
  | { readonly ok: false; readonly reason: string };

/**
 * The Logs Insights query of {@link countAnsweredClasses}: the requests per build and answered class among the
 * predict function's EMF lines (fields of a JSON log event are discovered by Logs Insights,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html; syntax,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html).
 *
 * @example
 * answeredClassesQueryString('iris', ['5', '6']);
 * // 'filter Model = "iris" and ispresent(AnsweredClass) and FunctionVersion in ["5", "6"] | stats count(*) as requests by FunctionVersion, AnsweredClass'
 */
export function answeredClassesQueryString(model: string, builds: readonly string[]): string {
  const list = builds.map((build) => JSON.stringify(build)).join(', ');
  return (
    `filter ${MetricDimension.MODEL} = ${JSON.stringify(model)} and ispresent(${ANSWERED_CLASS_PROPERTY}) ` +
    `and ${MetricDimension.FUNCTION_VERSION} in [${list}] ` +
    `| stats count(*) as requests by ${MetricDimension.FUNCTION_VERSION}, ${ANSWERED_CLASS_PROPERTY}`
  );
}

/**
 * Counts the requests per answered class of each build between `startMs` and `endMs`, from the `AnsweredClass`
 * member of the predict function's per-request EMF lines: one StartQuery, then GetQueryResults until the query is
 * Complete ("If you see a value of Scheduled or Running for the status, you can retry the operation later",
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html). A query that
 * fails, or is not complete after {@link MAX_QUERY_POLLS} reads, gives a reason instead of counts. No SDK waiter
 * exists for queries, hence the loop.
 *
 * Counted with a query rather than as metrics: a custom metric per class and version would cost 0.30 USD a month
 * each (a 1,000-class model, 300 USD per version), while a query scans one step of one log group (0.005 USD per
 * GB scanned, https://aws.amazon.com/cloudwatch/pricing/), once per step.
 *
 * @example
 * const counted = await countAnsweredClasses(logs, { logGroup, model: 'iris', builds: ['5', '6'], startMs, endMs }, sleep);
 * if (counted.ok) counted.byBuild['6']; // { '0': 40, '1': 38, '2': 42 }
 */
export async function countAnsweredClasses(
  logs: CloudWatchLogsClient,
  query: AnsweredClassesQuery,
  sleep: (ms: number) => Promise<void>,
  options: { readonly maxPolls?: number; readonly pollIntervalMs?: number } = {},
): Promise<AnsweredClasses> {
  try {
    return await runQuery(logs, query, sleep, options);
  } catch (error) {
    // A refused or throttled query (e.g. LimitExceededException: 30 concurrent queries per account) is reported
    // as such: the step waits for the next tick rather than failing the driver.
    return { ok: false, reason: `Logs Insights: ${(error as Error).name}: ${(error as Error).message}` };
  }
}

async function runQuery(
  logs: CloudWatchLogsClient,
  query: AnsweredClassesQuery,
  sleep: (ms: number) => Promise<void>,
  options: { readonly maxPolls?: number; readonly pollIntervalMs?: number },
): Promise<AnsweredClasses> {
  const started = await logs.send(
    new StartQueryCommand({
      logGroupName: query.logGroup,
      // Epoch seconds; both ends inclusive.
      startTime: Math.floor(query.startMs / 1000),
      endTime: Math.floor(query.endMs / 1000),
      queryString: answeredClassesQueryString(query.model, query.builds),
      limit: QUERY_ROW_LIMIT,
    }),
  );
  if (started.queryId === undefined) return { ok: false, reason: 'StartQuery returned no query id' };
  const maxPolls = options.maxPolls ?? MAX_QUERY_POLLS;
  for (let poll = 1; poll <= maxPolls; poll++) {
    const answer = await logs.send(new GetQueryResultsCommand({ queryId: started.queryId }));
    switch (answer.status) {
      case 'Complete':
        return { ok: true, byBuild: tally(answer.results ?? []) };
      case 'Scheduled':
      case 'Running':
        if (poll < maxPolls) await sleep(options.pollIntervalMs ?? QUERY_POLL_INTERVAL_MS);
        break;
      default:
        return { ok: false, reason: `the Logs Insights query ${started.queryId} ended ${answer.status}` };
    }
  }
  return {
    ok: false,
    reason: `the Logs Insights query ${started.queryId} was not complete after ${maxPolls} reads`,
  };
}

/** Rows of `FunctionVersion, AnsweredClass, requests` as counts per build and class. */
function tally(rows: readonly (readonly ResultField[])[]): Record<string, Record<string, number>> {
  const byBuild: Record<string, Record<string, number>> = {};
  for (const row of rows) {
    const field = (name: string) => row.find((cell) => cell.field === name)?.value;
    const build = field(MetricDimension.FUNCTION_VERSION);
    const answered = field(ANSWERED_CLASS_PROPERTY);
    const requests = Number(field('requests'));
    if (build === undefined || answered === undefined || !Number.isFinite(requests)) continue;
    const counts = byBuild[build] ?? {};
    counts[answered] = (counts[answered] ?? 0) + requests;
    byBuild[build] = counts;
  }
  return byBuild;
}
