import * as z from 'zod';
import { WaitReason } from '../core/rollout/decide.js';
import { RolloutPlanSchema } from '../core/rollout/RolloutPlan.js';
import { RolloutEventSchema, RolloutStateSchema } from '../core/rollout/RolloutState.js';

/**
 * The local stack's own routes, outside the API contract (API Gateway has none of them): how a `sluice`
 * process asks the stack, which owns its rollout states, to act on them and to say what it sees.
 */
export const LocalRoutePath = {
  /** `GET /_sluice/health/{model}?version=N&since=MS&stable=N`: the health window's verdict on one version. */
  HEALTH: '/_sluice/health/',
  /** `GET /_sluice/traffic?model=M`: requests per version the unversioned routes served in the health window. */
  TRAFFIC: '/_sluice/traffic',
  /**
   * `GET /_sluice/rollouts/{model}`: the rollout's status; `POST /_sluice/rollouts/{model}/{deploy|promote|rollback}`
   * acts on it (JSON bodies only, from the stack's own origin).
   */
  ROLLOUTS: '/_sluice/rollouts/',
  /** `GET /_sluice/logs?model=M[&version=N][&after=SEQ]`: the lines the stack logged about a model (read only). */
  LOGS: '/_sluice/logs',
  /** `GET /_sluice/console/state?minutes=N`: what the console page shows (read only). */
  CONSOLE_STATE: '/_sluice/console/state',
  /** `GET /_sluice/assets/{file}`: the console's and the docs page's scripts and styles. */
  ASSETS: '/_sluice/assets/',
} as const;
/** One local route path. */
export type LocalRoutePath = (typeof LocalRoutePath)[keyof typeof LocalRoutePath];

/**
 * The header a rollout command carries the stack's per-start token in: written to the stack's file in its data
 * folder (readable by the user only) for `sluice --local`, and given to the console page only with --allow-actions.
 */
export const CONTROL_TOKEN_HEADER = 'x-sluice-control-token';

/** The commands of `POST /_sluice/rollouts/{model}/{command}`. */
export const RolloutCommand = {
  DEPLOY: 'deploy',
  PROMOTE: 'promote',
  ROLLBACK: 'rollback',
} as const;
/** One rollout command. */
export type RolloutCommand = (typeof RolloutCommand)[keyof typeof RolloutCommand];

/** Who asks, recorded as the actor of the events a command writes (`cli`). */
const ActorSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a short lowercase name, e.g. cli');

/** `POST .../deploy`: the version to roll out and how. */
export const DeployCommandSchema = z.strictObject({
  actor: ActorSchema,
  version: z.number().int().positive(),
  plan: RolloutPlanSchema,
});

/** `POST .../promote`: the weight to move to, or the plan's next step. */
export const PromoteCommandSchema = z.strictObject({
  actor: ActorSchema,
  weight: z.number().min(0).max(100).optional(),
});

/** `POST .../rollback`: why, for the history. */
export const RollbackCommandSchema = z.strictObject({
  actor: ActorSchema,
  reason: z.string().min(1).max(500),
});

/** The answer of a rollout command: the state it wrote. */
export const RolloutCommandResponseSchema = z.object({ state: RolloutStateSchema });

/** A health report as it travels. */
const HealthReportSchema = z.object({
  verdict: z.enum(['healthy', 'unhealthy', 'unknown']),
  reasons: z.array(z.string()),
  requests: z.record(z.string(), z.number().int().nonnegative()).optional(),
  candidateRequests: z.number().int().nonnegative().optional(),
  settledUntilMs: z.number().optional(),
  agreement: z
    // Shares: a batch request adds the fraction of its rows that disagreed.
    .object({
      compared: z.number().int().nonnegative(),
      disagreed: z.number().nonnegative(),
      byOutput: z.record(z.string(), z.number().int().nonnegative()).optional(),
      differences: z
        .record(
          z.string(),
          z.object({ compared: z.number().int().nonnegative(), p50: z.number(), p99: z.number() }),
        )
        .optional(),
    })
    .optional(),
  classShares: z
    .object({
      stable: z.record(z.string(), z.number().nonnegative()),
      candidate: z.record(z.string(), z.number().nonnegative()),
    })
    .optional(),
});

/** An engine decision as it travels: JSON has no Infinity, so a manual plan's endless wait is `null`. */
const DecisionSchema = z.union([
  z.object({ kind: z.literal('idle') }),
  z.object({
    kind: z.literal('wait'),
    untilMs: z
      .number()
      .nullable()
      .transform((until) => until ?? Number.POSITIVE_INFINITY),
    why: z.enum(Object.values(WaitReason) as [WaitReason, ...WaitReason[]]),
    detail: z.string().optional(),
  }),
  z.object({ kind: z.literal('advance'), weight: z.number(), stepIndex: z.number().int() }),
  z.object({ kind: z.literal('promote') }),
  z.object({ kind: z.literal('rollback'), reason: z.string() }),
]);

/** `GET /_sluice/rollouts/{model}`: the engine's status report (see `RolloutEngine.status`). */
export const RolloutStatusResponseSchema = z.object({
  state: RolloutStateSchema.optional(),
  health: HealthReportSchema.optional(),
  decision: DecisionSchema,
  history: z.array(RolloutEventSchema),
});

/** `GET /_sluice/health/{model}?version=N`: a HealthReport of the version, with the window it was judged on. */
export const LocalHealthResponseSchema = z.object({
  model: z.string(),
  version: z.number().int().positive(),
  verdict: z.enum(['healthy', 'unhealthy', 'unknown']),
  reasons: z.array(z.string()),
  /** Requests per version of the model in the window: the observed traffic split. */
  requests: z.record(z.string(), z.number().int().nonnegative()),
  /** Requests the alias routed to the version since `since`: the evidence a step needs. */
  candidateRequests: z.number().int().nonnegative().optional(),
  /** Length of the window, in milliseconds. */
  windowMs: z.number().int().positive(),
});
/** The body of the local health route. */
export type LocalHealthResponse = z.infer<typeof LocalHealthResponseSchema>;

/** `GET /_sluice/traffic?model=M`: the traffic split the local alias produced, as the health window saw it. */
export const LocalTrafficResponseSchema = z.object({
  model: z.string(),
  /** Requests per version routed by the alias in the window, keyed by the version number. */
  requests: z.record(z.string(), z.number().int().nonnegative()),
  /** Length of the window, in milliseconds. */
  windowMs: z.number().int().positive(),
  /** Each version's latest drift figure per output (population stability against its reference set). */
  drift: z.record(z.string(), z.record(z.string(), z.number().nonnegative())).optional(),
});
/** The body of the local traffic route. */
export type LocalTrafficResponse = z.infer<typeof LocalTrafficResponseSchema>;

/** One line of `GET /_sluice/logs`: what the stack logged, with its position in the stack's log. */
export const LocalLogLineSchema = z.object({
  seq: z.number().int().positive(),
  at: z.string().datetime(),
  level: z.enum(['INFO', 'WARN', 'ERROR']),
  message: z.string(),
  fields: z.record(z.string(), z.unknown()),
});

/** `GET /_sluice/logs?model=M`: the kept lines naming the model (and version), oldest first. */
export const LocalLogsResponseSchema = z.object({
  model: z.string(),
  lines: z.array(LocalLogLineSchema),
  /** The newest line the stack logged, about any model: read `after` it for what comes next. */
  newest: z.number().int().nonnegative(),
});
/** The body of the local logs route. */
export type LocalLogsResponse = z.infer<typeof LocalLogsResponseSchema>;

/** The path of the logs route: a model's lines, of one version, after line `after`. */
export function localLogsPath(
  model: string,
  options: { readonly version?: number; readonly after?: number } = {},
): string {
  const version = options.version === undefined ? '' : `&version=${options.version}`;
  const after = options.after === undefined ? '' : `&after=${options.after}`;
  return `${LocalRoutePath.LOGS}?model=${encodeURIComponent(model)}${version}${after}`;
}

/** The path of the health route for one version, with the evidence since `sinceMs` and `stable` to compare with. */
export function localHealthPath(
  model: string,
  version: number,
  options: { readonly sinceMs?: number; readonly stable?: number } = {},
): string {
  const since = options.sinceMs === undefined ? '' : `&since=${Math.floor(options.sinceMs)}`;
  const stable = options.stable === undefined ? '' : `&stable=${options.stable}`;
  return `${LocalRoutePath.HEALTH}${encodeURIComponent(model)}?version=${version}${since}${stable}`;
}

/** The path of the traffic route for one model. */
export function localTrafficPath(model: string): string {
  return `${LocalRoutePath.TRAFFIC}?model=${encodeURIComponent(model)}`;
}

/** The path of a model's rollout (its status), or of one command on it. */
export function localRolloutPath(model: string, command?: RolloutCommand): string {
  return `${LocalRoutePath.ROLLOUTS}${encodeURIComponent(model)}${command === undefined ? '' : `/${command}`}`;
}

/** `GET /_sluice/console/state?minutes=N`: how long a window the console's charts show by default, in minutes. */
export const CONSOLE_DEFAULT_MINUTES = 15;

/** Longest window the console's charts show, in minutes: what the health window keeps (six hours). */
export const CONSOLE_MAX_MINUTES = 360;

/** Periods per chart: the window is cut into this many points. */
export const CONSOLE_POINTS = 60;

/** One period of one version on the console's charts (see `HealthWindow.series`). */
const ConsolePointSchema = z.object({
  at: z.number(),
  requests: z.number().int().nonnegative(),
  direct: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  invalidOutputs: z.number().int().nonnegative(),
  compared: z.number().int().nonnegative(),
  disagreed: z.number().nonnegative(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

/** A published version as the console lists it. */
const ConsoleVersionSchema = z.object({
  version: z.number().int().positive(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  createdAt: z.string(),
  inputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })),
  outputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })),
  labels: z.array(z.string()).optional(),
  description: z.string().optional(),
  goldenExamples: z.number().int().nonnegative(),
  reference: z.boolean(),
});

/** One model on the console: its versions, its rollout as `sluice status` reads it, and its charts' series. */
const ConsoleModelSchema = z.object({
  name: z.string(),
  versions: z.array(ConsoleVersionSchema),
  rollout: RolloutStatusResponseSchema,
  /** Per version (keyed by its number) the window's periods, oldest first. */
  series: z.record(z.string(), z.array(ConsolePointSchema)),
  /** Each version's latest drift figure per output. */
  drift: z.record(z.string(), z.record(z.string(), z.number().nonnegative())),
});

/**
 * `GET /_sluice/console/state`: everything the console shows, read in one request: the models, their versions and
 * rollouts, the charts' series over the window, and the thresholds the gates judge against.
 */
export const ConsoleStateSchema = z.object({
  /** The stack's clock when it answered, epoch milliseconds. */
  now: z.number(),
  /** The charts' window: `[from, now)`, cut into periods of `periodMs`. */
  from: z.number(),
  periodMs: z.number().int().positive(),
  /** The limits of the gates (what rolls a candidate back): the local stack's; on AWS each model's alarms have their own. */
  thresholds: z
    .object({
      errorRatePercent: z.number(),
      p99LatencyMs: z.number(),
      invalidOutputs: z.number(),
      rejectedInputsPercent: z.number(),
    })
    .optional(),
  /** Whether the page may offer promote and rollback (started with --allow-actions). */
  actions: z.boolean(),
  /** How long the page waits before it reads the state again, in milliseconds. */
  refreshMs: z.number().int().positive(),
  /** What the page shows: the local stack (with its API docs and metrics), or an AWS deployment read through the SDK. */
  source: z.enum(['local', 'aws']),
  models: z.array(ConsoleModelSchema),
});
/** The body of the console's state route. */
export type ConsoleState = z.input<typeof ConsoleStateSchema>;
