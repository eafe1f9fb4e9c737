import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { type DriveLogger, type DriveOutcome, driveRollouts } from '../../rollout/drive-rollouts.js';
import type { RolloutEngine } from '../../rollout/RolloutEngine.js';
import type { DriverLease } from '../../storage/DriverLease.js';
import type { RolloutStore } from '../../storage/RolloutStore.js';
import { type PruneResult, pruneFunctionVersions } from '../lambda/prune-function-versions.js';

/** What {@link driveStackRollouts} needs. */
export interface DriveStackRolloutsDeps {
  /** The engine (actor `scheduler`) over the stack's Lambda target. */
  readonly engine: Pick<RolloutEngine, 'step' | 'isDue'>;
  readonly store: Pick<RolloutStore, 'current'>;
  readonly lambda: LambdaClient;
  readonly cloudwatch: CloudWatchClient;
  /** The stack's models and their predict functions. */
  readonly modelFunctions: Readonly<Record<string, string>>;
  /** Published Lambda versions kept per function besides the protected ones. */
  readonly keepVersions: number;
  /** @default no logging */
  readonly logger?: DriveLogger;
  /**
   * The driver's lease and this tick's name for it (the invocation's request id): a tick that cannot take it does
   * nothing, since another tick of the same driver is still running. @default no lease (tests of one tick)
   */
  readonly lease?: { readonly lease: Pick<DriverLease, 'acquire' | 'release'>; readonly holder: string };
}

/** What one tick did: the engine's step per model, and what was pruned for idle models. */
export interface DriveStackResult {
  /** True when another tick held the driver's lease, so this one did nothing. */
  readonly skipped?: boolean;
  readonly outcomes: DriveOutcome[];
  /** Per model with no rollout in progress: the Lambda versions and alarms removed. */
  readonly pruned: Readonly<Record<string, PruneResult>>;
}

/**
 * One invocation of the rollout-driver function (EventBridge Scheduler, every minute): steps every rollout in
 * progress once ({@link driveRollouts}), then tidies up after the models with none: old Lambda versions and
 * their alarms ({@link pruneFunctionVersions}). A model whose pruning fails is logged and retried next tick. With a
 * lease ({@link DriverLease}), a tick runs only while it holds it: two ticks of one driver never overlap.
 *
 * @example
 * const result = await driveStackRollouts({ engine, store, lambda, cloudwatch, modelFunctions, keepVersions: 3 });
 */
export async function driveStackRollouts(deps: DriveStackRolloutsDeps): Promise<DriveStackResult> {
  // A driver with no model has nothing to exclude: no lease, no call.
  if (!deps.lease || Object.keys(deps.modelFunctions).length === 0) return driveOnce(deps);
  const held = await deps.lease.lease.acquire(deps.lease.holder);
  if (!held) {
    deps.logger?.info('another tick of this driver is still running; this one does nothing', {
      holder: deps.lease.holder,
    });
    return { skipped: true, outcomes: [], pruned: {} };
  }
  try {
    return await driveOnce(deps);
  } finally {
    await deps.lease.lease.release(held);
  }
}

async function driveOnce(deps: DriveStackRolloutsDeps): Promise<DriveStackResult> {
  const models = Object.keys(deps.modelFunctions);
  const outcomes = await driveRollouts({
    engine: deps.engine,
    store: deps.store,
    models,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const pruned: Record<string, PruneResult> = {};
  for (const outcome of outcomes) {
    const { model } = outcome;
    const functionName = deps.modelFunctions[model];
    // Only a model idle at this tick is pruned, on the state the tick read: one read of each state per tick (a
    // model stepped now, promoted or not, is pruned at the next one).
    if (functionName === undefined || outcome.kind !== 'idle') continue;
    const { state } = outcome;
    try {
      const result = await pruneFunctionVersions({
        lambda: deps.lambda,
        cloudwatch: deps.cloudwatch,
        functionName,
        keep: deps.keepVersions,
        ...(state ? { state } : {}),
      });
      pruned[model] = result;
      if (result.deletedVersions.length > 0) {
        deps.logger?.info('pruned old Lambda versions', { model, versions: result.deletedVersions });
      }
    } catch (error) {
      deps.logger?.warn('pruning failed; the next tick tries again', { model, error: String(error) });
    }
  }
  return { outcomes, pruned };
}
