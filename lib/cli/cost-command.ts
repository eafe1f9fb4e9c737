import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AlarmThresholdsSchema } from '../core/config/alarm-thresholds.js';
import { summarizeApp } from '../core/cost/app-summary.js';
import { type CostEstimate, type CostUsage, estimateCost } from '../core/cost/estimate-cost.js';
import { versionAlarmSpecs } from '../core/gates/version-alarm-specs.js';
import { EmfServingMetrics, successMetricLines } from '../serving/metrics/EmfServingMetrics.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './exit-codes.js';
import { formatTable } from './format-table.js';

/**
 * Bytes of Lambda's own lines per invocation in its text log format: START (about 90), END (about 55) and REPORT
 * (about 190 on a warm start), as the examples of https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
 * show them. An approximation.
 */
const PLATFORM_LOG_BYTES = 335;

/** Bytes of the XRAY line Lambda adds per invocation with active tracing (about 110, same page). */
const XRAY_LOG_BYTES = 110;

/**
 * Bytes of one API access log line: the 20 fields of the stage's format (lib/cdk/access-log-format.ts) with typical
 * values (request ids, a source IP, a time, paths, statuses, latencies, a trace id). An approximation.
 */
const ACCESS_LOG_BYTES = 640;

/** Options of `sluice cost`. */
interface CostOptions {
  readonly app: string;
  readonly requests: string;
  readonly ms: string;
  readonly json?: boolean;
}

/**
 * `sluice cost`: a month of the synthesized app (`npx cdk synth` writes it to cdk.out) at list prices, from its
 * templates and what sluice's code emits per request.
 */
export function registerCostCommand(program: Command, io: CliIo): void {
  program
    .command('cost')
    .description('estimate what the synthesized app (cdk.out) costs a month and per million requests')
    .option('--app <dir>', 'the cloud assembly `npx cdk synth` wrote', 'cdk.out')
    .option('--requests <n>', 'predictions a month, over all models', '1000000')
    .option('--ms <ms>', 'billed milliseconds of one prediction', '20')
    .option('--json', 'print the estimate as JSON')
    .action(async (options: CostOptions) => {
      const requestsPerMonth = positive('--requests', options.requests);
      const meanDurationMs = positive('--ms', options.ms);
      const templates = await readTemplates(options.app);
      const app = summarizeApp(templates);
      const estimate = estimateCost(app, {
        requestsPerMonth,
        meanDurationMs,
        ...emittedPerRequest(app.restApis > 0 || app.httpApis > 0, app.tracing),
        alarmMetricsPerLambdaVersion: alarmMetricsPerLambdaVersion(),
        alarmedVersionsPerModel: app.keepVersions + 1,
      });
      io.stdout(options.json ? `${JSON.stringify(estimate, null, 2)}\n` : formatEstimate(estimate));
    });
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new UsageError(`${flag} must be a number >= 0; got "${text}"`);
  return value;
}

/** Every template of the assembly: the stack's and its nested stacks' (`*.template.json`). */
async function readTemplates(dir: string): Promise<unknown[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.template.json'));
  } catch {
    throw new UsageError(`no cloud assembly at ${dir}: run \`npx cdk synth\` first, or pass --app DIR`);
  }
  if (names.length === 0) throw new UsageError(`${dir} holds no template: run \`npx cdk synth\` first`);
  return Promise.all(names.sort().map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8'))));
}

/**
 * What the predict function writes per request, measured on its own metric writer: the custom metrics a serving
 * version emits (metric names times dimension sets, of the request and the load documents) and the bytes of log
 * (the request's metric line, Lambda's platform lines, the access log line).
 */
function emittedPerRequest(
  accessLogs: boolean,
  tracing: boolean,
): Pick<CostUsage, 'customMetricsPerServingVersion' | 'logBytesPerRequest'> {
  const lines: string[] = [];
  const metrics = new EmfServingMetrics(
    (line) => lines.push(line),
    '7',
    () => 1_800_000_000_000,
  );
  // The first document of a minute writes every count; a request's typical line is the minute's later, lean one.
  const requestLine = successMetricLines().lean;
  // A success leaves out the zero counts (lean metrics); a metric exists for the month once any request wrote it,
  // and one refused input or one error a month is enough: the month is priced with all of them.
  for (const status of [400, 503])
    metrics.recordInference({
      model: 'iris',
      version: 4,
      status,
      latencyMs: 3.2,
      predictions: 0,
      invalidOutputs: 0,
    });
  metrics.recordModelLoad('iris', 4, 850, true);
  const names = new Set<string>();
  let dimensionSets = 0;
  for (const line of lines) {
    const directive = JSON.parse(line)._aws.CloudWatchMetrics[0];
    for (const metric of directive.Metrics) names.add(metric.Name);
    dimensionSets = Math.max(dimensionSets, directive.Dimensions.length);
  }
  return {
    customMetricsPerServingVersion: names.size * dimensionSets,
    logBytesPerRequest:
      Buffer.byteLength(requestLine) +
      PLATFORM_LOG_BYTES +
      (tracing ? XRAY_LOG_BYTES : 0) +
      (accessLogs ? ACCESS_LOG_BYTES : 0),
  };
}

/** The metrics the alarms of one Lambda version read, as the control plane creates them with default thresholds. */
function alarmMetricsPerLambdaVersion(): number {
  const specs = versionAlarmSpecs(
    { functionName: 'f', alias: 'live', lambdaVersion: '7', model: 'iris', modelVersion: 4 },
    AlarmThresholdsSchema.parse({}),
  );
  return specs.reduce((sum, spec) => sum + spec.metrics.length, 0);
}

/** A unit price as people read it: per unit from a cent up, per million below. */
function unitPrice(usd: number, per: string): string {
  const figure = (value: number) => Number(value.toPrecision(4)).toString();
  return usd >= 0.01 ? `${figure(usd)} per ${per}` : `${figure(usd * 1e6)} per million: ${per}`;
}

function formatEstimate(estimate: CostEstimate): string {
  const usd = (value: number) => (value >= 0.01 || value === 0 ? value.toFixed(2) : value.toPrecision(2));
  const quantity = (value: number) =>
    value >= 100 ? Math.round(value).toLocaleString('en-US') : Number(value.toPrecision(3)).toString();
  const rows = estimate.lines.map((line) => [
    line.kind,
    line.item,
    quantity(line.quantity),
    unitPrice(line.price.usd, line.price.per),
    usd(line.monthlyUsd),
  ]);
  const sources = [...new Set(estimate.lines.map((line) => line.price.source))];
  return (
    `${formatTable(
      [
        { header: 'KIND' },
        { header: 'ITEM' },
        { header: 'QUANTITY', alignRight: true },
        { header: 'UNIT PRICE (USD)' },
        { header: 'USD/MONTH', alignRight: true },
      ],
      rows,
    )}\n` +
    `standing: ${usd(estimate.standingUsdPerMonth)} USD a month; each million requests adds ` +
    `${usd(estimate.perMillionRequestsUsd)} USD (at ${estimate.usage.meanDurationMs} ms each)\n` +
    'List prices of US East (N. Virginia), on demand, before free tiers; check them on:\n' +
    sources.map((source) => `  ${source}\n`).join('')
  );
}
