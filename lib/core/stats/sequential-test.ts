/**
 * An always-valid sequential test of a disagreement rate: the candidate's answers are compared with the stable
 * version's one by one, and the verdict may be read after every comparison without inflating its error rate.
 *
 * Each side is a mixture likelihood ratio (a mixture sequential probability ratio test, mSPRT): against the null
 * "the disagreement rate is at most the tolerance", the ratio of the data's likelihood under a mixture of rates
 * above the tolerance to its likelihood at the tolerance is a nonnegative supermartingale under every rate at or
 * below it, so by Ville's inequality it ever reaches 1/alpha with probability at most alpha
 * (Johari, Pekelis, Walsh: "Always Valid Inference", https://arxiv.org/abs/1512.04922). Checking it at every driver
 * tick therefore keeps the false-rollback rate at or under alpha, where a fixed-sample test re-run on every tick
 * would not. The pass side mirrors it: rates below the tolerance against the tolerance.
 *
 * One observation is one compared request, its share of disagreeing rows (0 to 1; see `disagreementShare`), so
 * `disagreed` may be fractional. The guarantee still holds: the ratio of one observation, (p1/p0)^x ((1-p1)/(1-p0))^(1-x),
 * is convex in x, so on [0, 1] it lies under its chord, and its mean under any share of mean m is at most the mean of
 * a 0-or-1 observation of rate m, which is at most 1 for every m <= p0 (Hoeffding's convexity argument).
 */

/** How a disagreement rate is judged. */
export interface DisagreementTest {
  /** The disagreement rate tolerated, 0 < tolerance < 1 (0.02: two answers in a hundred may differ). */
  readonly tolerance: number;
  /** The test's error rate on either side (0.05: at most 5 % of tolerable candidates are rolled back). */
  readonly alpha: number;
  /** Fewest comparisons before the test may pass; a failure needs no minimum (its error rate holds anyway). */
  readonly minCompared: number;
}

/** What a sequential test says. */
export type SequentialVerdict = 'fail' | 'pass' | 'undecided';

/** Paired comparisons so far. */
export interface DisagreementCounts {
  /** Requests compared. */
  readonly compared: number;
  /** Their disagreement: the sum of each request's share of disagreeing rows (whole for one-row requests). */
  readonly disagreed: number;
}

/** The test's verdict on the counts, with both sides' evidence (the log of each mixture ratio). */
export interface DisagreementJudgement {
  readonly verdict: SequentialVerdict;
  /** log of the mixture ratio for "more disagreement than tolerated"; fails at log(1/alpha). */
  readonly failEvidence: number;
  /** log of the mixture ratio for "less disagreement than tolerated"; passes at log(1/alpha). */
  readonly passEvidence: number;
}

/** Rates above the tolerance the fail side mixes, as multiples of it (capped below 1). */
const FAIL_MULTIPLES = [1.5, 2, 3, 5, 10, 20] as const;

/**
 * Rates below the tolerance the pass side mixes, as fractions of it. The ones near 1 let a candidate just under the
 * tolerance pass too, after many comparisons (at 75 % of it, a median of some 5,400); closer still, the caps hand the
 * choice to a person (see `decide`).
 */
const PASS_FRACTIONS = [0, 0.25, 0.5, 0.75, 0.9] as const;

/**
 * The sequential verdict on paired comparisons: `fail` once the evidence for more disagreement than tolerated
 * reaches 1/alpha, `pass` once the evidence for less reaches it and at least `minCompared` answers were compared,
 * `undecided` until then (too little traffic neither passes nor fails).
 *
 * @example
 * judgeDisagreement({ compared: 60, disagreed: 6 }, { tolerance: 0.02, alpha: 0.05, minCompared: 100 }).verdict; // 'fail'
 */
export function judgeDisagreement(counts: DisagreementCounts, test: DisagreementTest): DisagreementJudgement {
  const { compared, disagreed } = counts;
  const p0 = test.tolerance;
  const threshold = Math.log(1 / test.alpha);
  const atNull = logLikelihood(disagreed, compared, p0);
  const failRates = FAIL_MULTIPLES.map((multiple) => Math.min(p0 * multiple, 1 - 1e-9)).filter((p) => p > p0);
  const failEvidence = logMeanExp(failRates.map((p) => logLikelihood(disagreed, compared, p) - atNull));
  const passEvidence = logMeanExp(
    PASS_FRACTIONS.map((fraction) => logLikelihood(disagreed, compared, p0 * fraction) - atNull),
  );
  let verdict: SequentialVerdict = 'undecided';
  if (failEvidence >= threshold) verdict = 'fail';
  else if (passEvidence >= threshold && compared >= test.minCompared) verdict = 'pass';
  return { verdict, failEvidence, passEvidence };
}

/** log P(x of n | p) without the binomial coefficient (it cancels in every ratio). */
function logLikelihood(x: number, n: number, p: number): number {
  if (p === 0) return x === 0 ? 0 : Number.NEGATIVE_INFINITY;
  return x * Math.log(p) + (n - x) * Math.log1p(-p);
}

/** log of the mean of exp(values), computed without overflow. */
function logMeanExp(values: readonly number[]): number {
  const top = Math.max(...values);
  if (top === Number.NEGATIVE_INFINITY) return top;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - top);
  return top + Math.log(sum / values.length);
}
