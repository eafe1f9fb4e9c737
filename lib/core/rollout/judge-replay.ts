import type { ReplayResult } from '../golden/replay-reference.js';
import { binomialBounds } from '../stats/binomial-bounds.js';
import { describeDifferences, describeOutputs } from './decide.js';
import type { GateSettings } from './gate-settings.js';

/** The verdict on a replay of reference sets through the candidate and the stable version. */
export interface ReplayVerdict {
  /** `fail`: the candidate gets no traffic; `pass`: its answers agree; `undecided`: too few items to say either. */
  readonly verdict: 'fail' | 'pass' | 'undecided';
  /** The figures, in one line, for the history and `status`. */
  readonly summary: string;
}

/**
 * Judges a replay, read once (a fixed sample): it fails when even the lower Clopper-Pearson bound of the
 * disagreement rate is above the tolerance, or when the candidate's accuracy on the items with an expected class is
 * lower than the stable version's by more than the margin; it passes when the upper bound is below the tolerance.
 *
 * @example
 * judgeReplay({ items: 150, compared: 150, disagreed: 0 }, settings).verdict; // 'pass'
 */
export function judgeReplay(
  result: ReplayResult,
  settings: Pick<GateSettings, 'tolerance' | 'alpha' | 'accuracyMargin' | 'numericTolerance'>,
): ReplayVerdict {
  const bounds = binomialBounds(result.disagreed, result.compared, settings.alpha);
  const rate = result.compared === 0 ? 0 : result.disagreed / result.compared;
  const figures =
    `${result.disagreed} of ${result.compared} reference items disagreed (${percent(rate)}, ` +
    `${percent(bounds.lower)} to ${percent(bounds.upper)} at ${percent(1 - settings.alpha)}; ${percent(settings.tolerance)} tolerated)`;
  const accuracy = result.accuracy;
  const candidateAccuracy = accuracy ? accuracy.candidate / accuracy.items : undefined;
  const stableAccuracy = accuracy ? accuracy.stable / accuracy.items : undefined;
  const accuracyText =
    candidateAccuracy === undefined || stableAccuracy === undefined
      ? ''
      : `; accuracy ${percent(candidateAccuracy)} against ${percent(stableAccuracy)} for the stable version on ${accuracy?.items} items with an expected class`;
  const summary =
    `${figures}${accuracyText}` +
    describeOutputs(result.byOutput, 'reference items') +
    describeDifferences(result.differences, settings.numericTolerance, 'item');
  if (
    candidateAccuracy !== undefined &&
    stableAccuracy !== undefined &&
    candidateAccuracy < stableAccuracy - settings.accuracyMargin
  ) {
    return {
      verdict: 'fail',
      summary: `${summary}: more than ${percent(settings.accuracyMargin)} less accurate`,
    };
  }
  if (bounds.lower > settings.tolerance) return { verdict: 'fail', summary };
  if (bounds.upper < settings.tolerance) return { verdict: 'pass', summary };
  return { verdict: 'undecided', summary };
}

function percent(share: number): string {
  return `${(100 * share).toFixed(1)}%`;
}
