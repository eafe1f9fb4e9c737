import type { GoldenCheckResult } from '../golden/run-golden-check.js';
import type { ModelManifest } from '../manifest/ModelManifest.js';
import { classOutputOf } from '../stats/answer-classes.js';
import { type RolloutPlan, RolloutStrategy } from './RolloutPlan.js';
import type { RolloutState } from './RolloutState.js';

/** What {@link describeGates} reads: the candidate, its plan, and the gates that already ran. */
export interface GatesInput {
  readonly manifest: ModelManifest;
  readonly plan: RolloutPlan;
  readonly golden: GoldenCheckResult;
  readonly replay?: NonNullable<RolloutState['replay']>;
}

/**
 * Which behaviour gates run for a rollout, and why the others do not, in one line for the deploy's history
 * event (and so for `status`): the golden examples and the replay (already run), the shadow phase, the class-share
 * test at each step's end, and drift.
 *
 * @example
 * describeGates({ manifest, plan, golden });
 * // 'gates: golden examples (3 passed), shadow phase (10%), class shares (at each step's end); not run: replay (no reference set), drift (no reference set)'
 */
export function describeGates(input: GatesInput): string {
  const { manifest, plan, golden, replay } = input;
  const ran: string[] = [];
  const skipped: string[] = [];
  if (golden.examples > 0) ran.push(`golden examples (${golden.examples} passed)`);
  else skipped.push('golden examples (the manifest has none)');
  if (replay) ran.push(`replay (${replay.standsIn ? 'passed; stands in for live evidence' : 'passed'})`);
  else skipped.push('replay (neither version has a reference set)');
  const shadowPercent = plan.shadowPercent ?? 0;
  if (shadowPercent > 0 && !replay?.standsIn) ran.push(`shadow phase (${shadowPercent}%)`);
  else skipped.push(`shadow phase (${replay?.standsIn ? 'the replay stands in' : 'the plan has none'})`);
  const classOutput = classOutputOf(manifest.outputs);
  const sharedSteps = plan.steps.filter((weight) => weight < 100).length;
  if (!classOutput) skipped.push('class shares (no class output)');
  else if (plan.strategy === RolloutStrategy.MANUAL)
    skipped.push('class shares (a manual plan: a person steps)');
  else if (sharedSteps === 0) skipped.push('class shares (no step where both versions serve)');
  else ran.push(`class shares (of ${classOutput.name}, at each step's end)`);
  const drifting = [
    ...(manifest.reference?.classes && classOutput ? [classOutput.name] : []),
    ...Object.keys(manifest.reference?.outputs ?? {}),
  ];
  if (drifting.length > 0) ran.push(`drift (of ${drifting.join(', ')}, while it serves)`);
  else skipped.push('drift (no reference set)');
  return `gates: ${ran.length > 0 ? ran.join(', ') : 'none'}${skipped.length > 0 ? `; not run: ${skipped.join(', ')}` : ''}`;
}
