import { setTimeout as delay } from 'node:timers/promises';
import { type Decision, WaitReason } from '../core/rollout/decide.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import { type RolloutEvent, type RolloutState, RolloutStatus } from '../core/rollout/RolloutState.js';
import type { HealthReport } from '../core/rollout/RolloutTarget.js';
import type { RolloutControl } from './RolloutControl.js';

/** What {@link followRollout} takes. */
export interface FollowRolloutInput {
  /** Reads the rollout (`status` only reads: following never moves traffic). */
  readonly control: Pick<RolloutControl, 'status'>;
  readonly model: string;
  /** The revision already shown: events of later revisions are new. */
  readonly fromRevision: number;
  /** Called with every new history event, oldest first. */
  readonly onEvent: (event: RolloutEvent) => void;
  /** Called when the rollout waits for something other than before (baking, evidence, metrics). */
  readonly onWait?: (decision: Extract<Decision, { kind: 'wait' }>, health: HealthReport | undefined) => void;
  /** Milliseconds between two reads. */
  readonly pollIntervalMs: number;
  /**
   * How the follower waits between reads (tests pass one that advances a fake clock).
   * @default a timer
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Watches a rollout that the drivers carry on (the local stack, the scheduler on AWS) until it ends, reporting
 * every event as it is recorded; returns the final, idle state. It never acts: stopping it (Ctrl-C) leaves the
 * rollout running. A rollout that waits for a person (a manual plan, a shadow phase undecided at its limit) has no
 * end on its own, so following one throws {@link RolloutError}.
 *
 * @example
 * const final = await followRollout({ control, model: 'iris', fromRevision: state.revision,
 *   onEvent: (event) => console.log(event.action), pollIntervalMs: 1000 });
 */
export async function followRollout(input: FollowRolloutInput): Promise<RolloutState> {
  const sleep = input.sleep ?? ((ms: number) => delay(ms));
  let seen = input.fromRevision;
  let lastWait: string | undefined;
  for (;;) {
    const report = await input.control.status(input.model);
    const { state } = report;
    if (!state) throw new RolloutError(`${input.model} has no rollout state to follow`);
    if (state.revision > seen) {
      // Every revision appends exactly one event, so the new ones are the last (revision - seen) of the history.
      const fresh = state.history.slice(-Math.min(state.revision - seen, state.history.length));
      for (const event of fresh) input.onEvent(event);
      seen = state.revision;
    }
    if (state.status === RolloutStatus.IDLE) return state;
    const { decision } = report;
    if (decision.kind === 'wait') {
      if (!Number.isFinite(decision.untilMs)) {
        throw new RolloutError(
          decision.why === WaitReason.MANUAL
            ? `the rollout of ${input.model} is manual: it moves only with \`sluice promote ${input.model}\``
            : `the rollout of ${input.model} waits for a person: ${decision.detail ?? decision.why}`,
        );
      }
      const key = `${state.revision}:${decision.why}:${report.health?.verdict ?? ''}`;
      if (key !== lastWait) {
        input.onWait?.(decision, report.health);
        lastWait = key;
      }
    }
    await sleep(input.pollIntervalMs);
  }
}
