/** The part of jstat (https://jstat.github.io/) that sluice uses; the package ships no types. */
declare module 'jstat' {
  export const jStat: {
    readonly chisquare: {
      /** The chi-square distribution's cumulative probability at `x` with `dof` degrees of freedom. */
      cdf(x: number, dof: number): number;
    };
    readonly beta: {
      /** The quantile of the beta distribution with shapes `a` and `b` at probability `p`. */
      inv(p: number, a: number, b: number): number;
    };
  };
}
