import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import type { Command } from 'commander';
import { SluiceError } from '../core/errors/SluiceError.js';
import { parseDuration } from '../core/rollout/plan-rollout.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import type { LocalLogLine } from '../local/LocalLogBuffer.js';
import type { CliIo } from './cli-io.js';
import { printable } from './describe-rollout.js';
import { UsageError } from './exit-codes.js';
import { parseVersionArgument } from './model-argument.js';
import { type RegistryTarget, resolveRegistryTarget } from './registry-target.js';
import { awsClients, missingFunctionError } from './rollout-context.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/** How far back `sluice logs` reads when `--since` is not given. */
export const DEFAULT_LOGS_SINCE = '10m';

/** How often `--follow` asks the local stack for new lines: it answers from memory. */
export const LOCAL_LOGS_POLL_MS = 1_000;

/**
 * How often `--follow` asks CloudWatch Logs for new events: FilterLogEvents has a per-account quota of a few
 * requests per second (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html), and
 * events arrive in CloudWatch seconds after the function writes them.
 */
export const AWS_LOGS_POLL_MS = 5_000;

/**
 * The function version in a Lambda log stream's name, `YYYY/MM/DD/[version]environment-id`
 * (https://docs.aws.amazon.com/lambda/latest/operatorguide/log-structure.html).
 */
const LOG_STREAM_VERSION = /\[([^\]]+)\]/;

/** Options of `sluice logs`. */
interface LogsOptions extends RolloutCommandOptions {
  readonly version?: number;
  readonly since: string;
  readonly follow?: boolean;
}

/** One line as `sluice logs` prints it, from either side. */
interface PrintedLine {
  readonly at: string;
  /** The model version the line is about, when it names one. */
  readonly version?: number;
  /** The Lambda version that wrote it (AWS). */
  readonly build?: string;
  readonly level?: string;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

/**
 * `sluice logs <model> [--version N] [--since D] [--follow]`: the model's log lines. On AWS, the events of the
 * predict function's log group (its LoggingConfig.LogGroup, Lambda's `/aws/lambda/<function>` by default) read with
 * FilterLogEvents, every page followed; with `--version N` only those written by the Lambda versions that serve
 * model version N (a log stream names the function version that wrote it). Locally, the lines the running stack
 * logged about the model (the served version, or a rollout's stable or candidate, for `--version`). `--follow`
 * keeps printing new lines until Ctrl-C. Only reads.
 */
export function registerLogsCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('logs'), io)
    .description(
      "print a model's log lines: the function's CloudWatch logs on AWS, the local stack's with --local",
    )
    .argument('<model>', 'model name')
    .option('--version <n>', 'only the lines of this model version', parseVersionArgument)
    .option('--since <duration>', 'how far back to start, e.g. 30s, 10m, 2h', DEFAULT_LOGS_SINCE)
    .option('--follow', 'keep printing new lines until Ctrl-C')
    .addHelpText(
      'after',
      "\nOn AWS the function is --function / SLUICE_FUNCTION, or the one the model's rollout state names.\n" +
        'With --json, one JSON object per line: {"at","version","build","level","message","fields"}.\n\n' +
        'Examples:\n  npx sluice logs iris --local --version 2\n' +
        '  npx sluice logs iris --since 1h --follow --bucket my-registry --function Sluice-Iris-Function',
    )
    .action(async (model: string, options: LogsOptions) => {
      const sinceMs = Date.now() - parseSince(options.since);
      const target = await resolveRegistryTarget(options, io.env);
      const print = (line: PrintedLine): void =>
        io.stdout(options.json ? `${JSON.stringify(line)}\n` : describeLine(line));
      const stop = new AbortController();
      const interrupt = (): void => stop.abort();
      if (options.follow && !io.signal) process.once('SIGINT', interrupt);
      io.signal?.addEventListener('abort', interrupt, { once: true });
      try {
        const reader = target.apiUrl
          ? localReader(target.apiUrl, model, options.version, sinceMs)
          : await awsReader(target, model, options, io, sinceMs);
        for (const line of await reader.read()) print(line);
        // A timer of its own is cleared at Ctrl-C, so the process ends at once.
        let timer: NodeJS.Timeout | undefined;
        const sleep =
          io.sleep ??
          ((ms: number) =>
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, ms);
            }));
        const stopped = new Promise<void>((resolve) =>
          stop.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          ),
        );
        while (options.follow && !stop.signal.aborted) {
          await Promise.race([sleep(reader.pollMs), stopped]);
          if (stop.signal.aborted) break;
          for (const line of await reader.read()) print(line);
        }
      } finally {
        process.off('SIGINT', interrupt);
        io.signal?.removeEventListener('abort', interrupt);
      }
    });
}

/** Reads the lines since the last read (the first read: since `--since`). */
interface LineReader {
  readonly read: () => Promise<PrintedLine[]>;
  readonly pollMs: number;
}

function parseSince(text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof RolloutError) throw new UsageError(`--since: ${error.message}`, { cause: error });
    throw error;
  }
}

/** The local stack's lines, from its logs route; each read asks for the lines after the newest it has seen. */
function localReader(
  apiUrl: string,
  model: string,
  version: number | undefined,
  sinceMs: number,
): LineReader {
  let after: number | undefined;
  return {
    pollMs: LOCAL_LOGS_POLL_MS,
    read: async () => {
      const [{ localLogsPath, LocalLogsResponseSchema }, { describeIssues }] = await Promise.all([
        import('../local/local-routes.js'),
        import('../core/errors/describe-issues.js'),
      ]);
      const path = localLogsPath(model, {
        ...(version === undefined ? {} : { version }),
        ...(after === undefined ? {} : { after }),
      });
      const response = await fetch(`${apiUrl.replace(/\/+$/, '')}${path}`);
      const text = await response.text();
      if (!response.ok)
        throw new SluiceError(`the local stack answered ${response.status}: ${text.slice(0, 300)}`);
      const parsed = LocalLogsResponseSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        throw new SluiceError(
          `the local stack answered GET ${path} unexpectedly: ${describeIssues(parsed.error)} (is it an older sluice?)`,
        );
      }
      const first = after === undefined;
      after = parsed.data.newest;
      return parsed.data.lines
        .filter((line) => !first || Date.parse(line.at) >= sinceMs)
        .map((line) => printedLocalLine(line));
    },
  };
}

function printedLocalLine(line: LocalLogLine): PrintedLine {
  const { model: _model, version, ...fields } = line.fields;
  const served = Number(version);
  return {
    at: line.at,
    ...(Number.isInteger(served) && served > 0 ? { version: served } : {}),
    level: line.level,
    message: line.message,
    fields,
  };
}

/**
 * The function's CloudWatch Logs events: FilterLogEvents on its log group from `sinceMs`, every page followed with
 * the SDK's paginator (a page may be empty while a token says there is more), keeping the events whose log stream
 * names one of the builds of `--version`. Each later read starts at the newest event seen, skipping the events
 * already printed.
 */
async function awsReader(
  target: RegistryTarget,
  model: string,
  options: LogsOptions,
  io: CliIo,
  sinceMs: number,
): Promise<LineReader> {
  const [{ paginateFilterLogEvents, ResourceNotFoundException }, { listFunctionVersions }, clients] =
    await Promise.all([
      import('@aws-sdk/client-cloudwatch-logs'),
      import('../aws/lambda/list-function-versions.js'),
      io.awsClients ?? awsClients(target.region),
    ]);
  const functionName = await functionOf(target, model, options, io);
  const configurations = await listFunctionVersions(clients.lambda, functionName);
  const logGroup = logGroupOf(configurations, functionName);
  const versionOfBuild = await modelVersionsOfBuilds(configurations, model);
  const builds =
    options.version === undefined
      ? undefined
      : new Set(
          [...versionOfBuild].filter(([, version]) => version === options.version).map(([build]) => build),
        );
  if (builds && builds.size === 0) {
    throw new SluiceError(
      `no Lambda version of ${functionName} serves ${model} v${options.version}: it was never deployed there`,
    );
  }
  let from = sinceMs;
  let seenAtFrom = new Set<string>();
  return {
    pollMs: AWS_LOGS_POLL_MS,
    read: async () => {
      const lines: PrintedLine[] = [];
      let newest = from;
      const seenAtNewest = new Set<string>();
      try {
        for await (const page of paginateFilterLogEvents(
          { client: clients.logs },
          { logGroupName: logGroup, startTime: from },
        )) {
          for (const event of page.events ?? []) {
            const timestamp = event.timestamp ?? 0;
            const id = event.eventId ?? `${event.logStreamName}:${timestamp}:${event.message}`;
            if (timestamp === from && seenAtFrom.has(id)) continue;
            if (timestamp > newest) {
              newest = timestamp;
              seenAtNewest.clear();
            }
            if (timestamp === newest) seenAtNewest.add(id);
            const build = LOG_STREAM_VERSION.exec(event.logStreamName ?? '')?.[1];
            if (builds && (build === undefined || !builds.has(build))) continue;
            const version = build === undefined ? undefined : versionOfBuild.get(build);
            lines.push({
              at: new Date(timestamp).toISOString(),
              ...(version === undefined ? {} : { version }),
              ...(build === undefined ? {} : { build }),
              message: (event.message ?? '').trimEnd(),
            });
          }
        }
      } catch (error) {
        if (error instanceof ResourceNotFoundException) {
          throw new SluiceError(
            `${functionName} has no log group ${logGroup} yet (or it cannot be read): ${error.message}`,
            { cause: error },
          );
        }
        throw error;
      }
      if (newest > from) seenAtFrom = seenAtNewest;
      else for (const id of seenAtNewest) seenAtFrom.add(id);
      from = newest;
      return lines;
    },
  };
}

/** The predict function: `--function`, SLUICE_FUNCTION, else the one the model's rollout state names. */
async function functionOf(
  target: RegistryTarget,
  model: string,
  options: LogsOptions,
  io: CliIo,
): Promise<string> {
  const given = options.function ?? io.env.SLUICE_FUNCTION;
  if (given) return given;
  const { RolloutStore } = await import('../storage/RolloutStore.js');
  const state = await new RolloutStore({ store: target.objects }).current(model);
  if (state?.functionName) return state.functionName;
  throw missingFunctionError();
}

/** The log group the function writes to: its LoggingConfig.LogGroup, or Lambda's default `/aws/lambda/<name>`. */
function logGroupOf(configurations: readonly FunctionConfiguration[], functionName: string): string {
  const latest = configurations.find((configuration) => configuration.Version === '$LATEST');
  const bareName =
    latest?.FunctionName ?? functionName.split(':').at(functionName.startsWith('arn:') ? 6 : 0);
  return latest?.LoggingConfig?.LogGroup ?? `/aws/lambda/${bareName}`;
}

/** Each published Lambda version that serves a version of the model (its environment says which), by number. */
async function modelVersionsOfBuilds(
  configurations: readonly FunctionConfiguration[],
  model: string,
): Promise<Map<string, number>> {
  const { servesModelVersion } = await import('../aws/lambda/published-version.js');
  const builds = new Map<string, number>();
  for (const configuration of configurations) {
    const version = Number(configuration.Environment?.Variables?.SLUICE_MODEL_VERSION);
    if (configuration.Version === undefined || !Number.isInteger(version)) continue;
    if (servesModelVersion(configuration, model, version)) builds.set(configuration.Version, version);
  }
  return builds;
}

/** A line for people: time, version (and build), level, message, then the other fields as JSON. */
function describeLine(line: PrintedLine): string {
  const version = line.version === undefined ? '-' : `v${line.version}`;
  const build = line.build === undefined ? '' : ` (λ${line.build})`;
  const level = line.level === undefined ? '' : `${line.level.padEnd(5)} `;
  const fields = line.fields && Object.keys(line.fields).length > 0 ? `  ${JSON.stringify(line.fields)}` : '';
  return `${line.at}  ${version}${build}  ${level}${printable(line.message)}${printable(fields)}\n`;
}
