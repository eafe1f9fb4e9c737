import type { AppSummary, LambdaFunction } from './app-summary.js';
import { IDLE_TICK_REQUESTS } from './driver-tick-requests.js';
import { type PricedItem, UNIT_PRICES, type UnitPrice } from './unit-prices.js';

/** How the app is used, and what sluice's code emits, per month. */
export interface CostUsage {
  /** Predictions a month, over all models (spread evenly over them). */
  readonly requestsPerMonth: number;
  /** Billed milliseconds of one predict invocation. */
  readonly meanDurationMs: number;
  /** Bytes of log one request writes (the function's metric line, Lambda's platform lines, the API's access line). */
  readonly logBytesPerRequest: number;
  /** Custom metrics each serving model version emits (metric names times dimension sets). */
  readonly customMetricsPerServingVersion: number;
  /** Model versions serving each model during the month (2 while a rollout runs). @default 1 */
  readonly servingVersionsPerModel?: number;
  /** Metrics the alarms of one Lambda version read (the alarms the control plane creates, not in the template). */
  readonly alarmMetricsPerLambdaVersion: number;
  /** Lambda versions of a model with alarms: the routed one(s) and those pruning keeps. */
  readonly alarmedVersionsPerModel: number;
  /** Billed milliseconds of one idle driver tick. @default 300 */
  readonly tickDurationMs?: number;
}

/** One line of the estimate. */
export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly price: UnitPrice;
  readonly monthlyUsd: number;
  /** `standing`: paid with no traffic; `per-request`: grows with the requests. */
  readonly kind: 'standing' | 'per-request';
}

/** The estimate: its lines, the standing cost a month, and what a million requests add. */
export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly standingUsdPerMonth: number;
  readonly perMillionRequestsUsd: number;
  readonly usage: CostUsage;
}

/** Seconds in an average month (365.25 / 12 days). */
const SECONDS_PER_MONTH = 2_629_800;

/** X-Ray's default sampling: the first request each second, and 5 % of the others
 * (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html). */
const XRAY_RESERVOIR_PER_MONTH = SECONDS_PER_MONTH;
const XRAY_FIXED_RATE = 0.05;

/**
 * A month of the app at list prices, before free tiers: standing costs (keys, alarms, dashboards beyond three, the
 * driver's ticks, provisioned concurrency) and what the requests add (API Gateway, Lambda, logs, traces).
 *
 * @example
 * const estimate = estimateCost(summarizeApp(templates), { requestsPerMonth: 1e6, meanDurationMs: 20,
 *   logBytesPerRequest: 900, customMetricsPerServingVersion: 16, alarmMetricsPerLambdaVersion: 8,
 *   alarmedVersionsPerModel: 4 });
 */
export function estimateCost(app: AppSummary, usage: CostUsage): CostEstimate {
  const lines: CostLine[] = [];
  const add = (kind: CostLine['kind'], item: string, quantity: number, priced: PricedItem) => {
    if (quantity <= 0) return;
    const price = UNIT_PRICES[priced];
    lines.push({ item, quantity, price, monthlyUsd: quantity * price.usd, kind });
  };
  const models = app.models.length;
  const requests = usage.requestsPerMonth;
  const perModel = models === 0 ? 0 : requests / models;

  // Standing.
  add('standing', 'KMS keys (registry, alarm topic)', app.kmsKeys, 'kmsKey');
  add('standing', 'alarms in the template (metrics they read)', app.templateAlarmMetrics, 'alarmMetric');
  add(
    'standing',
    `version alarms (${usage.alarmedVersionsPerModel} Lambda versions per model, metrics they read)`,
    models * usage.alarmedVersionsPerModel * usage.alarmMetricsPerLambdaVersion,
    'alarmMetric',
  );
  add(
    'standing',
    `custom metrics (${usage.customMetricsPerServingVersion} per serving model version)`,
    models * (usage.servingVersionsPerModel ?? 1) * usage.customMetricsPerServingVersion,
    'customMetric',
  );
  add('standing', "dashboards (if the account's 3 free ones are used)", app.dashboards, 'dashboard');
  const ticks = app.scheduledInvocationsPerMonth;
  const ticksPerDriver = app.drivers === 0 ? 0 : ticks / app.drivers;
  add('standing', 'rollout driver ticks (schedule)', ticks, 'schedulerInvocation');
  add('standing', 'rollout driver ticks (Lambda requests)', ticks, 'lambdaRequest');
  const driver = app.controlFunctions.find((fn) => /RolloutDriver/.test(fn.id));
  if (driver) {
    add(
      'standing',
      `rollout driver ticks (${driver.memoryMb} MB for ${usage.tickDurationMs ?? 300} ms)`,
      ticks * gbSeconds(driver, usage.tickDurationMs ?? 300),
      gbSecondPrice(driver),
    );
  }
  const tick = IDLE_TICK_REQUESTS;
  const tickRequests = (key: keyof typeof tick.perDriver) =>
    ticksPerDriver * (app.drivers * tick.perDriver[key] + models * tick.perModel[key]);
  add('standing', 'driver ticks: S3 GET', tickRequests('s3Get'), 's3Get');
  add('standing', 'driver ticks: S3 LIST and PUT', tickRequests('s3ListOrPut'), 's3ListOrPut');
  add('standing', 'driver ticks: CloudWatch API', tickRequests('cloudwatch'), 'cloudwatchApiRequest');
  for (const model of app.models) {
    if (model.provisionedConcurrency <= 0) continue;
    add(
      'standing',
      `provisioned concurrency of ${model.model} (${model.provisionedConcurrency} x ${model.memoryMb} MB)`,
      model.provisionedConcurrency * (model.memoryMb / 1024) * SECONDS_PER_MONTH,
      model.architecture === 'arm64' ? 'provisionedGbSecondArm' : 'provisionedGbSecondX86',
    );
  }

  // Per request.
  // The front door: one per stack (README "Front doors").
  add('per-request', 'REST API requests', app.restApis > 0 ? requests : 0, 'restApiRequest');
  add('per-request', 'HTTP API requests', app.httpApis > 0 ? requests : 0, 'httpApiRequest');
  add('per-request', 'function URL requests', app.functionUrls > 0 ? requests : 0, 'functionUrlRequest');
  add(
    'per-request',
    'CloudFront requests (before the function URLs)',
    app.cloudFrontDistributions > 0 ? requests : 0,
    'cloudFrontRequest',
  );
  add('per-request', 'predict invocations (Lambda requests)', requests, 'lambdaRequest');
  for (const model of app.models) {
    add(
      'per-request',
      `predict duration of ${model.model} (${model.memoryMb} MB, ${model.architecture}, ${usage.meanDurationMs} ms)`,
      perModel * gbSeconds(model, usage.meanDurationMs),
      gbSecondPrice(model),
    );
  }
  add(
    'per-request',
    `logs ingested (${usage.logBytesPerRequest} bytes per request)`,
    (requests * usage.logBytesPerRequest) / 1e9,
    'logIngestionGb',
  );
  if (app.tracing) {
    const traced =
      Math.min(requests, XRAY_RESERVOIR_PER_MONTH) +
      XRAY_FIXED_RATE * Math.max(0, requests - XRAY_RESERVOIR_PER_MONTH);
    add('per-request', 'X-Ray traces (default sampling: 1 a second, then 5 %)', traced, 'xrayTrace');
  }

  const sum = (kind: CostLine['kind']) =>
    lines.filter((line) => line.kind === kind).reduce((total, line) => total + line.monthlyUsd, 0);
  const variable = sum('per-request');
  return {
    lines,
    standingUsdPerMonth: sum('standing'),
    perMillionRequestsUsd: requests > 0 ? (variable / requests) * 1e6 : 0,
    usage,
  };
}

function gbSeconds(fn: LambdaFunction, ms: number): number {
  return (fn.memoryMb / 1024) * (ms / 1000);
}

function gbSecondPrice(fn: LambdaFunction): PricedItem {
  return fn.architecture === 'arm64' ? 'lambdaGbSecondArm' : 'lambdaGbSecondX86';
}
