/**
 * Summary statistics for benchmark samples: nearest-rank percentiles, the
 * median and min–max. Pure; the inputs are never mutated.
 *
 * @module
 */

/** Thrown when a statistic is asked of no samples or of a bad percentile. */
export class StatsInputError extends RangeError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StatsInputError";
  }
}

function sortedCopy(samples: readonly number[], what: string): number[] {
  if (samples.length === 0) throw new StatsInputError(`Cannot compute ${what} of no samples`);
  for (const value of samples) {
    if (!Number.isFinite(value)) {
      throw new StatsInputError(`Cannot compute ${what}: sample "${value}" is not finite`);
    }
  }
  return [...samples].sort((a, b) => a - b);
}

/**
 * The nearest-rank `p`-th percentile (0 < p ≤ 100): the smallest sample with
 * at least p% of the samples at or below it. p95 of 20 samples is the 19th.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) {
    throw new StatsInputError(`Cannot compute percentile "${p}": it must be in (0, 100]`);
  }
  const sorted = sortedCopy(samples, `p${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1]!;
}

/** The median: the middle sample, or the mean of the two middle ones. */
export function median(samples: readonly number[]): number {
  const sorted = sortedCopy(samples, "the median");
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median with min and max of repeated measurements. */
export interface Summary {
  /** The median. */
  readonly median: number;
  /** The smallest sample. */
  readonly min: number;
  /** The largest sample. */
  readonly max: number;
  /** How many samples. */
  readonly n: number;
}

/** Summarises repeated measurements as median and min–max. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = sortedCopy(samples, "a summary");
  return { median: median(sorted), min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}

/** Rounds to `digits` significant digits for tables (0 stays 0). */
export function significant(value: number, digits = 3): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}
