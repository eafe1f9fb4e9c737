import { setTimeout as delay } from 'node:timers/promises';
import { MetricName } from '../core/metrics/metric-names.js';
import { EmfDocuments, type EmfMetric } from './metrics/EmfDocuments.js';

/** The one metric of a deferred load's document. */
const DEFERRED_METRICS: readonly EmfMetric[] = [{ name: MetricName.MODEL_LOAD_DEFERRED, unit: 'Count' }];

/**
 * How long the predict function's init waits for its model, in milliseconds. Lambda limits an on-demand init to
 * 10 s and, past it, retries the whole init at the first invocation
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html); 8 s leaves the runtime's own
 * start and the module loading their share.
 */
export const INIT_LOAD_BUDGET_MS = 8_000;

/** `AWS_LAMBDA_INITIALIZATION_TYPE` of a sandbox started for provisioned concurrency. */
export const PROVISIONED_CONCURRENCY = 'provisioned-concurrency';

/** How the init's wait for the model ended. */
export const InitLoadOutcome = {
  /** The model is loaded (or failed to load: requests retry it); no request pays for it. */
  SETTLED: 'settled',
  /** The budget ran out first: the load goes on, and the first request waits for the rest of it. */
  DEFERRED: 'deferred',
} as const;
/** One outcome of {@link finishLoadInInit}. */
export type InitLoadOutcome = (typeof InitLoadOutcome)[keyof typeof InitLoadOutcome];

/** What {@link finishLoadInInit} takes. */
export interface FinishLoadInInitInput {
  /** Settles when the configured model version is loaded or failed to load (`PredictHandler.warm`). */
  readonly warm: Promise<void>;
  /** `AWS_LAMBDA_INITIALIZATION_TYPE`: `on-demand`, `provisioned-concurrency`, `snap-start`; absent off Lambda. */
  readonly initializationType: string | undefined;
  /** The model and version, for the log line and the metric. */
  readonly model: string;
  readonly version: number;
  /** Called once when the budget runs out first: say so in a log line and a metric. */
  readonly onDeferred: (line: DeferredLoad) => void;
  /**
   * Resolves when the budget is spent (tests pass one they control).
   * @default a timer of INIT_LOAD_BUDGET_MS
   */
  readonly budget?: () => Promise<void>;
}

/** What is reported when a load did not fit the init. */
export interface DeferredLoad {
  readonly message: string;
  /** A CloudWatch EMF document counting `ModelLoadDeferred` for the model and version. */
  readonly emf: string;
}

/**
 * Makes the model load part of the Lambda init, so no request's Duration contains it: the predict function's
 * entry awaits this at its top level (an ES module's top-level await holds the init phase). Under provisioned
 * concurrency it waits for the whole load, since the environment is frozen after init and would otherwise pay the
 * load on its first request; on demand it waits at most the init budget, and when the model cannot make it, says
 * so (log line and `ModelLoadDeferred` metric) and lets the first request finish the load.
 *
 * @example
 * await finishLoadInInit({ warm, initializationType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE, model, version,
 *   onDeferred: ({ message, emf }) => { logger.warn(message); process.stdout.write(emf); } });
 */
export async function finishLoadInInit(input: FinishLoadInInitInput): Promise<InitLoadOutcome> {
  if (input.initializationType === PROVISIONED_CONCURRENCY) {
    await input.warm;
    return InitLoadOutcome.SETTLED;
  }
  const budget = input.budget ?? (() => delay(INIT_LOAD_BUDGET_MS, undefined, { ref: false }));
  const outcome = await Promise.race([
    input.warm.then(() => InitLoadOutcome.SETTLED),
    budget().then(() => InitLoadOutcome.DEFERRED),
  ]);
  if (outcome === InitLoadOutcome.DEFERRED) {
    input.onDeferred({
      message:
        `${input.model} v${input.version} did not load within the ${INIT_LOAD_BUDGET_MS} ms init budget; the first ` +
        'request waits for the rest of the load (provisioned concurrency always loads in init)',
      emf: new EmfDocuments().document(input.model, input.version, DEFERRED_METRICS, [1], Date.now()),
    });
  }
  return outcome;
}
