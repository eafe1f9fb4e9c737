import * as z from 'zod';
import { ControlPlaneVariable } from '../environment/control-plane-environment.js';
import { FunctionVariable } from '../environment/predict-environment.js';
import { DEFAULT_KEEP_VERSIONS } from '../rollout/retention.js';

/** What the cost estimate needs of a synthesized sluice app, read from its CloudFormation templates. */
export interface AppSummary {
  /** Each model's predict function. */
  readonly models: readonly ModelFunction[];
  /** The functions the rollouts run on: release, driver, alarm rollback, the Provider framework's. */
  readonly controlFunctions: readonly LambdaFunction[];
  /** REST APIs (API Gateway): each request is billed. */
  readonly restApis: number;
  /** HTTP APIs (API Gateway v2): each request is billed, at a lower price. */
  readonly httpApis: number;
  /** Lambda function URLs: no price of their own. */
  readonly functionUrls: number;
  /** CloudFront distributions in front of the URLs: each request is billed. */
  readonly cloudFrontDistributions: number;
  readonly kmsKeys: number;
  readonly dashboards: number;
  /** The alarms in the templates, by the metrics each reads. */
  readonly templateAlarmMetrics: number;
  /** Schedules and their invocations a month. */
  readonly scheduledInvocationsPerMonth: number;
  /** Drivers (one per schedule): each tick's S3 and API calls. */
  readonly drivers: number;
  /** Whether the stage and functions are traced with X-Ray. */
  readonly tracing: boolean;
  /** Lambda versions the driver keeps per function besides the routed ones (each keeps its alarms). */
  readonly keepVersions: number;
}

/** A Lambda function's billed shape. */
export interface LambdaFunction {
  readonly id: string;
  readonly memoryMb: number;
  readonly architecture: 'x86_64' | 'arm64';
}

/** A model's predict function. */
export interface ModelFunction extends LambdaFunction {
  readonly model: string;
  /** Provisioned concurrency kept on its alias (fixed, or the scaling's minimum). */
  readonly provisionedConcurrency: number;
}

const ResourceSchema = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).optional(),
});
const TemplateSchema = z.object({ Resources: z.record(z.string(), ResourceSchema).default({}) });

const FunctionPropertiesSchema = z.object({
  /** Lambda's default when the template leaves it out (the Provider framework's functions). */
  MemorySize: z.number().default(128),
  Architectures: z.array(z.enum(['x86_64', 'arm64'])).default(['x86_64']),
  Environment: z.object({ Variables: z.record(z.string(), z.unknown()).default({}) }).optional(),
  TracingConfig: z.object({ Mode: z.string() }).optional(),
});

/** Minutes in an average month (365.25 / 12 days). */
const MINUTES_PER_MONTH = 43_830;

/**
 * Reads the templates of one synthesized app (the stack's and its nested stacks'): which functions, at what
 * memory and architecture, which models, APIs, keys, dashboards, alarms and schedules.
 *
 * @example
 * const summary = summarizeApp([JSON.parse(readFileSync('cdk.out/Sluice.template.json', 'utf8'))]);
 */
export function summarizeApp(templates: readonly unknown[]): AppSummary {
  const resources = templates.flatMap((template) =>
    Object.entries(TemplateSchema.parse(template).Resources).map(([id, resource]) => ({ id, ...resource })),
  );
  const ofType = (type: string) => resources.filter((resource) => resource.Type === type);
  // The release keeps the alias's provisioned concurrency: the fixed figure, or the scaling's minimum.
  const provisioned = new Map<string, number>();
  for (const release of ofType('Custom::SluiceRelease')) {
    const model = String(release.Properties?.Model ?? '');
    provisioned.set(model, Number(release.Properties?.ProvisionedConcurrency ?? 0));
  }
  const models: ModelFunction[] = [];
  const controlFunctions: LambdaFunction[] = [];
  let tracing = false;
  let keepVersions = DEFAULT_KEEP_VERSIONS;
  for (const fn of ofType('AWS::Lambda::Function')) {
    const properties = FunctionPropertiesSchema.parse(fn.Properties ?? {});
    const shape = {
      id: fn.id,
      memoryMb: properties.MemorySize,
      architecture: properties.Architectures[0] ?? 'x86_64',
    } as const;
    if (properties.TracingConfig?.Mode === 'Active') tracing = true;
    const variables = properties.Environment?.Variables ?? {};
    const kept = Number(variables[ControlPlaneVariable.KEEP_VERSIONS]);
    if (Number.isInteger(kept) && kept > 0) keepVersions = kept;
    const model = variables[FunctionVariable.MODEL];
    if (typeof model === 'string') {
      models.push({ ...shape, model, provisionedConcurrency: provisioned.get(model) ?? 0 });
    } else controlFunctions.push(shape);
  }
  const alarms = ofType('AWS::CloudWatch::Alarm');
  const schedules = ofType('AWS::Scheduler::Schedule');
  return {
    models,
    controlFunctions,
    restApis: ofType('AWS::ApiGateway::RestApi').length,
    httpApis: ofType('AWS::ApiGatewayV2::Api').length,
    functionUrls: ofType('AWS::Lambda::Url').length,
    cloudFrontDistributions: ofType('AWS::CloudFront::Distribution').length,
    kmsKeys: ofType('AWS::KMS::Key').length,
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    templateAlarmMetrics: alarms.reduce((sum, alarm) => sum + alarmMetrics(alarm.Properties ?? {}), 0),
    scheduledInvocationsPerMonth: schedules.reduce(
      (sum, schedule) => sum + invocationsPerMonth(String(schedule.Properties?.ScheduleExpression ?? '')),
      0,
    ),
    drivers: schedules.length,
    tracing,
    keepVersions,
  };
}

/** The metrics an alarm reads: its one metric, or each metric (not expression) of its metric math. */
function alarmMetrics(properties: Record<string, unknown>): number {
  const metrics = z.array(z.object({ MetricStat: z.unknown().optional() })).safeParse(properties.Metrics);
  if (!metrics.success) return 1;
  return metrics.data.filter((metric) => metric.MetricStat !== undefined).length;
}

/** Invocations a month of a `rate(N unit)` schedule expression; 0 for what this does not read (cron, at). */
function invocationsPerMonth(expression: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!rate) return 0;
  const minutes = { minute: 1, hour: 60, day: 1440 }[rate[2]?.replace(/s$/, '') as 'minute' | 'hour' | 'day'];
  return MINUTES_PER_MONTH / (Number(rate[1]) * minutes);
}
