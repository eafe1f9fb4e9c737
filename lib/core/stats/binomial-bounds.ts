import jstatModule from 'jstat';

const { jStat } = jstatModule;

/**
 * One-sided Clopper-Pearson bounds of a rate from `successes` of `trials`, each holding with probability at least
 * 1 - alpha: exact (from the beta distribution, jstat's), so they are valid on small samples. For a fixed sample
 * read once, such as a replay of a reference set; a rate watched as it grows needs a sequential test instead.
 *
 * @example
 * binomialBounds(0, 150, 0.05).upper; // 0.0198: 150 agreeing rows say the rate is below 2 %
 */
export function binomialBounds(
  successes: number,
  trials: number,
  alpha: number,
): { readonly lower: number; readonly upper: number } {
  if (trials === 0) return { lower: 0, upper: 1 };
  const lower = successes === 0 ? 0 : jStat.beta.inv(alpha, successes, trials - successes + 1);
  const upper = successes === trials ? 1 : jStat.beta.inv(1 - alpha, successes + 1, trials - successes);
  return { lower, upper };
}
