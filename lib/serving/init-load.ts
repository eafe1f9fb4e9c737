import { setTimeout as delay } from 'node:timers/promises';
import { MetricName } from '../core/metrics/metric-names.js';
import { EmfDocuments, type EmfMetric } from './metrics/EmfDocuments.js';

/** The one metric of a deferred load's document. */
const DEFERRED_METRICS: readonly EmfMetric[] = [{ name: MetricName.MODEL_LOAD_DEFERRED, unit: 'Count' }];

/**
 * Lambda's limit of an on-demand init: extensions, the runtime's bootstrap and the function's static code together
 * have 10 s, and past it Lambda retries the whole init at the first invocation, with the function's timeout
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Init phase"). It does not apply
 * under provisioned concurrency or SnapStart.
 */
export const LAMBDA_INIT_LIMIT_MS = 10_000;

/** Kept of the init limit for what runs after the wait (the entry's last lines, the runtime's Next request). */
const INIT_MARGIN_MS = 1_000;

/**
 * How long the init may still wait for the model, given the milliseconds the process has run (the runtime's
 * bootstrap and the module loading, onnxruntime's included, count against the same 10 s).
 *
 * @example
 * const waitMs = initWaitMs(performance.now());
 */
export function initWaitMs(elapsedMs: number): number {
  return Math.max(0, LAMBDA_INIT_LIMIT_MS - INIT_MARGIN_MS - elapsedMs);
}

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
   * Milliseconds the process has run when the wait starts.
   * @default performance.now(), since the process started
   */
  readonly elapsedMs?: number;
  /**
   * Resolves when the budget (the given milliseconds) is spent (tests pass one they control).
   * @default a timer
   */
  readonly budget?: (waitMs: number) => Promise<void>;
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
 * load on its first request; on demand it waits what is left of Lambda's 10 s init ({@link initWaitMs}), and when the model cannot make it, says
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
  const budget = input.budget ?? ((waitMs: number) => delay(waitMs, undefined, { ref: false }));
  const elapsedMs = input.elapsedMs ?? performance.now();
  const waitMs = initWaitMs(elapsedMs);
  const outcome = await Promise.race([
    input.warm.then(() => InitLoadOutcome.SETTLED),
    budget(waitMs).then(() => InitLoadOutcome.DEFERRED),
  ]);
  if (outcome === InitLoadOutcome.DEFERRED) {
    input.onDeferred({
      message:
        `${input.model} v${input.version} did not load within Lambda's ${LAMBDA_INIT_LIMIT_MS / 1000} s init ` +
        `(${Math.round(elapsedMs)} ms had gone to the runtime and module loading, ${Math.round(waitMs)} ms were ` +
        'left for the load); the first request waits for the rest of the load (provisioned concurrency always ' +
        'loads in init)',
      emf: new EmfDocuments().document(input.model, input.version, DEFERRED_METRICS, [1], Date.now()),
    });
  }
  return outcome;
}
