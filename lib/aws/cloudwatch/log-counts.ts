import {
  type CloudWatchLogsClient,
  GetQueryResultsCommand,
  type ResultField,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  ANSWERED_CLASS_PROPERTY,
  DISAGREED_OUTPUT_PROPERTY,
  MetricDimension,
} from '../../core/metrics/metric-names.js';

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

/** Where and when a count query looks. */
export interface LogWindow {
  /** The predict function's log group (its LoggingConfig.LogGroup, or `/aws/lambda/<name>`). */
  readonly logGroup: string;
  /** Epoch milliseconds, inclusive. */
  readonly startMs: number;
  /** Epoch milliseconds, inclusive. */
  readonly endMs: number;
}

/** What {@link countAnsweredClasses} counts. */
export interface AnsweredClassesQuery extends LogWindow {
  readonly model: string;
  /** The Lambda versions (builds) whose answers are counted. */
  readonly builds: readonly string[];
}

/** What {@link countDisagreedOutputs} counts. */
export interface DisagreedOutputsQuery extends LogWindow {
  readonly model: string;
  /** The candidate model version. */
  readonly candidate: number;
  /** The shadow build that compared its answers. */
  readonly shadowBuild: string;
}

/** Counts, or why they could not be had. */
export type Counted<T> =
  | { readonly ok: true; readonly counts: T }
  | { readonly ok: false; readonly reason: string };

/** How a count query waits and how long. */
export interface PollOptions {
  readonly maxPolls?: number;
  readonly pollIntervalMs?: number;
}

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
 * The Logs Insights query of {@link countDisagreedOutputs}: the shadow build's lines naming an output that
 * disagreed on a compared request, per output.
 *
 * @example
 * disagreedOutputsQueryString('iris', 4, '9');
 * // 'filter Model = "iris" and Version = "4" and FunctionVersion = "9" and ispresent(DisagreedOutput) | stats count(*) as requests by DisagreedOutput'
 */
export function disagreedOutputsQueryString(model: string, candidate: number, shadowBuild: string): string {
  return (
    `filter ${MetricDimension.MODEL} = ${JSON.stringify(model)} and ${MetricDimension.VERSION} = "${candidate}" ` +
    `and ${MetricDimension.FUNCTION_VERSION} = ${JSON.stringify(shadowBuild)} and ispresent(${DISAGREED_OUTPUT_PROPERTY}) ` +
    `| stats count(*) as requests by ${DISAGREED_OUTPUT_PROPERTY}`
  );
}

/**
 * Counts the requests per answered class of each build in the window, from the `AnsweredClass` member of the
 * predict function's per-request EMF lines: the class shares a step's end judges.
 *
 * Counted with a query rather than as metrics: a custom metric per class and version would cost 0.30 USD a month
 * each (a 1,000-class model, 300 USD per version), while a query scans one step of one log group (0.005 USD per
 * GB scanned, https://aws.amazon.com/cloudwatch/pricing/), once per step.
 *
 * @example
 * const counted = await countAnsweredClasses(logs, { logGroup, model: 'iris', builds: ['5', '6'], startMs, endMs }, sleep);
 * if (counted.ok) counted.counts['6']; // { '0': 40, '1': 38, '2': 42 }
 */
export async function countAnsweredClasses(
  logs: CloudWatchLogsClient,
  query: AnsweredClassesQuery,
  sleep: (ms: number) => Promise<void>,
  options: PollOptions = {},
): Promise<Counted<Record<string, Record<string, number>>>> {
  const rows = await runCountQuery(
    logs,
    query,
    answeredClassesQueryString(query.model, query.builds),
    sleep,
    options,
  );
  if (!rows.ok) return rows;
  const byBuild: Record<string, Record<string, number>> = {};
  for (const row of rows.counts) {
    const build = row.by[MetricDimension.FUNCTION_VERSION];
    const answered = row.by[ANSWERED_CLASS_PROPERTY];
    if (build === undefined || answered === undefined) continue;
    const counts = byBuild[build] ?? {};
    counts[answered] = (counts[answered] ?? 0) + row.requests;
    byBuild[build] = counts;
  }
  return { ok: true, counts: byBuild };
}

/**
 * Counts the compared requests on which each output of the candidate disagreed, from the `DisagreedOutput` lines
 * the shadow build writes beside its comparison metrics: which output a shadow rollback names. Asked once, when
 * the phase fails.
 *
 * @example
 * const counted = await countDisagreedOutputs(logs, { logGroup, model: 'iris', candidate: 4, shadowBuild: '9', startMs, endMs }, sleep);
 * if (counted.ok) counted.counts; // { label: 57, probabilities: 12 }
 */
export async function countDisagreedOutputs(
  logs: CloudWatchLogsClient,
  query: DisagreedOutputsQuery,
  sleep: (ms: number) => Promise<void>,
  options: PollOptions = {},
): Promise<Counted<Record<string, number>>> {
  const rows = await runCountQuery(
    logs,
    query,
    disagreedOutputsQueryString(query.model, query.candidate, query.shadowBuild),
    sleep,
    options,
  );
  if (!rows.ok) return rows;
  const byOutput: Record<string, number> = {};
  for (const row of rows.counts) {
    const output = row.by[DISAGREED_OUTPUT_PROPERTY];
    if (output !== undefined) byOutput[output] = (byOutput[output] ?? 0) + row.requests;
  }
  return { ok: true, counts: byOutput };
}

/** One row of a `stats count(*) as requests by ...` query: the group's fields and its count. */
interface CountRow {
  readonly by: Readonly<Record<string, string>>;
  readonly requests: number;
}

/**
 * Runs a `stats count(*) as requests by ...` query over the window: one StartQuery, then GetQueryResults until
 * it is Complete ("If you see a value of Scheduled or Running for the status, you can retry the operation later",
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html). A query that is
 * refused or throttled (30 concurrent queries per account), fails, or is not complete after {@link MAX_QUERY_POLLS}
 * reads gives a reason instead of rows; one not complete is stopped (StopQuery), so it does not run on. No SDK
 * waiter exists for queries, hence the loop.
 */
async function runCountQuery(
  logs: CloudWatchLogsClient,
  window: LogWindow,
  queryString: string,
  sleep: (ms: number) => Promise<void>,
  options: PollOptions,
): Promise<Counted<CountRow[]>> {
  try {
    const started = await logs.send(
      new StartQueryCommand({
        logGroupName: window.logGroup,
        // Epoch seconds; both ends inclusive.
        startTime: Math.floor(window.startMs / 1000),
        endTime: Math.floor(window.endMs / 1000),
        queryString,
        limit: QUERY_ROW_LIMIT,
      }),
    );
    if (started.queryId === undefined) return { ok: false, reason: 'StartQuery returned no query id' };
    const maxPolls = options.maxPolls ?? MAX_QUERY_POLLS;
    for (let poll = 1; poll <= maxPolls; poll++) {
      const answer = await logs.send(new GetQueryResultsCommand({ queryId: started.queryId }));
      switch (answer.status) {
        case 'Complete':
          return { ok: true, counts: (answer.results ?? []).map(countRow) };
        case 'Scheduled':
        case 'Running':
          if (poll < maxPolls) await sleep(options.pollIntervalMs ?? QUERY_POLL_INTERVAL_MS);
          break;
        default:
          return { ok: false, reason: `the Logs Insights query ${started.queryId} ended ${answer.status}` };
      }
    }
    // Abandoned, it would keep running and count against the account's 30 concurrent queries.
    try {
      await logs.send(new StopQueryCommand({ queryId: started.queryId }));
    } catch {
      // Already ended on its own, or not stoppable: nothing more to do.
    }
    return {
      ok: false,
      reason: `the Logs Insights query ${started.queryId} was not complete after ${maxPolls} reads (stopped)`,
    };
  } catch (error) {
    return { ok: false, reason: `Logs Insights: ${(error as Error).name}: ${(error as Error).message}` };
  }
}

/** A result row's fields: `requests` is the count, the others the group. */
function countRow(cells: readonly ResultField[]): CountRow {
  const by: Record<string, string> = {};
  let requests = 0;
  for (const { field, value } of cells) {
    if (field === undefined || value === undefined) continue;
    if (field === 'requests') requests = Number(value) || 0;
    else by[field] = value;
  }
  return { by, requests };
}
